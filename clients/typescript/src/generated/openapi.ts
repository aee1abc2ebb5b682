// Generated from openapi/openapi.yaml by `npm run client:generate`; do not edit.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness (the process answers). */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness (Kubernetes and Redis reachable, every informer synced).
         * @description Ready when the Kubernetes API server and Redis answer and every informer the process reads from (`tenants`, `webhooks`, `images`, `vms`, `labs`, `lti`) has listed at least once and has not been failing to list or watch for more than 60 s. A missing CustomResourceDefinition keeps its informer (and so the process) not ready, naming the CRD, until it is installed.
         */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/dev/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Issue a bearer token for local development (dev mode only; absent otherwise). */
        post: operations["createDevToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics (request durations by route and status, process, queues, job steps). */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This contract as JSON (without dev-only operations outside dev mode). */
        get: operations["getOpenApi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Browsable API documentation (Swagger UI over /openapi.json). */
        get: operations["getApiDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/graphql": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * GraphQL over the same use cases (queries, mutations; subscriptions over WebSocket on the same path).
         * @description Authenticated per field with the bearer token; errors carry the REST codes in `extensions.code`. Schema introspection in dev mode or for platform admins only; GraphiQL (`/graphiql`) in dev mode only. Documents are budgeted before parsing (without a token an 8 KiB body, 2 KiB and 200 tokens; signed in 64 KiB and 5,000 tokens).
         */
        post: operations["postGraphQL"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/admin/queues": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Queue dashboard (bull-board) for platform admins; needs Redis. */
        get: operations["getQueueDashboard"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * LTI 1.3 third-party initiated login (OIDC login initiation, LTI Core §5.1.1).
         * @description The platform's first step of a launch. Finds the registration by (iss, client_id) or, without client_id, the issuer's only registration; remembers a random state and nonce for 10 minutes and redirects to the platform's authorization endpoint.
         */
        get: operations["ltiLoginGet"];
        put?: never;
        /** LTI 1.3 third-party initiated login, as a form post. */
        post: operations["ltiLoginPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/launch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * LTI 1.3 launch (the OIDC authentication response, form_post) and Deep Linking request.
         * @description Verifies the id_token (RS256 with a kid, signature against the registration's JWKS, iss, aud/azp, exp and iat with 60 s skew, the nonce of this browser's state, single use, deployment, message type, version 1.3.0, roles, sub, resource link or deep linking settings), opens a session (cookie `lp_lti_session`, 1 hour) and redirects to the learner or instructor page, or to the Deep Linking page. A platform error response (`error`, `error_description`) is shown as such.
         */
        post: operations["ltiLaunch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/deep-link": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Deep Linking 2.0 lab picker (instructors of a Deep Linking session).
         * @description The tenant's labs with a "Use this lab" button each, and a form to create a new lab. Needs the session cookie of a Deep Linking launch.
         */
        get: operations["ltiDeepLinkPage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/deep-link/use": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Binds an existing lab to the course and answers the platform (LtiDeepLinkingResponse).
         * @description A lab bound to another course is refused (409, on the picker) unless `rebind` is `true`. The answer is a page that form-posts the signed response JWT to the platform's deep_link_return_url.
         */
        post: operations["ltiDeepLinkUse"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/deep-link/create": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Creates a lab (size preset small, medium or large), binds it to the course and answers the platform. */
        post: operations["ltiDeepLinkCreate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/assets/lti.css": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Stylesheet of the LTI pages (served from this origin, no CDN). */
        get: operations["getLtiStylesheet"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/assets/deep-link-return.js": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Script that submits a Deep Linking answer to the platform (the page works without it, by its button). */
        get: operations["getLtiDeepLinkScript"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/learner": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The learner's page (their own VM in the course's lab).
         * @description Where a student lands after a launch: their VM in the lab (name, power state, provisioning, Azure sign-in readiness and the `az ssh arc` command) with Start and Stop when allowed; or why they have none yet (not in the directory, not on the roster, being prepared) with the course's last roster sync.
         */
        get: operations["getLtiLearnerPage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/learner/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Starts the learner's own VM.
         * @description Starts the session's learner's VM in the session's lab (as a tenant member: their own VM only). Needs the launch session's cookie, a form post from a page of this origin (`Origin` absent or this host) and the session's `csrf` form field; answers 303 back to the page with `notice=started`, or an HTML page saying why it was refused.
         */
        post: operations["startLtiLearnerVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/learner/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stops the learner's own VM.
         * @description Stops the session's learner's VM in the session's lab (as a tenant member: their own VM only). Needs the launch session's cookie, a form post from a page of this origin (`Origin` absent or this host) and the session's `csrf` form field; answers 303 back to the page with `notice=stopped`, or an HTML page saying why it was refused.
         */
        post: operations["stopLtiLearnerVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/instructor": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The instructor's page (the course's lab, its students and its roster sync).
         * @description Where an instructor lands after a launch: the lab bound to the course (name, course, phase, counts), its students with their status, VM state and failure reason (Retry for failed ones), and the last roster sync from the course (when, trigger, outcome, counts, members without a VM and why) with Sync roster now. Without a lab, a page pointing to Deep Linking.
         */
        get: operations["getLtiInstructorPage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/instructor/sync": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Starts a roster sync of the session's lab from the course.
         * @description Starts `lti.roster-sync` of the session's lab (trigger `manual`), as the LMS integration acting for the instructor. Needs the launch session's cookie, a form post from a page of this origin (`Origin` absent or this host) and the session's `csrf` form field; answers 303 back to the page with `notice=sync-started`, or an HTML page saying why it was refused.
         */
        post: operations["syncLtiLabRoster"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/instructor/students/{student}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Provisions a failed student of the session's lab again.
         * @description Retries one failed (or pending) student of the session's lab, as the LMS integration acting for the instructor. Needs the launch session's cookie, a form post from a page of this origin (`Origin` absent or this host) and the session's `csrf` form field; answers 303 back to the page with `notice=retried`, or an HTML page saying why it was refused.
         */
        post: operations["retryLtiLabStudent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the tenants the caller may see. */
        get: operations["listTenants"];
        put?: never;
        /** Create a tenant (namespace, quota, limits, network policies, role bindings). */
        post: operations["createTenant"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** A tenant with its quota and current usage. */
        get: operations["getTenant"];
        put?: never;
        post?: never;
        /**
         * Delete a tenant and everything in it (refused while it has VMs unless force=true).
         * @description Answers 202 with an operation of kind `tenant.delete` that succeeds once the namespace is gone.
         */
        delete: operations["deleteTenant"];
        options?: never;
        head?: never;
        /** Change a tenant's name, description, quota or VM caps (quota and caps are admin-only). */
        patch: operations["updateTenant"];
        trace?: never;
    };
    "/v1/tenants/{tenant}/members": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** Members of a tenant and their roles. */
        get: operations["listMembers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/members/{principalId}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Azure AD object id (user or group) or other subject id. */
                principalId: components["parameters"]["PrincipalId"];
            };
            cookie?: never;
        };
        /** One member of a tenant and its role. */
        get: operations["getMember"];
        /** Add a user or group to the tenant, or change its role. */
        put: operations["putMember"];
        post?: never;
        /** Remove a member (the last owner cannot be removed). */
        delete: operations["deleteMember"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Audit events of mutations, newest first (platform admins; tenant owners with `tenant`). */
        get: operations["listAuditEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/images": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The platform image catalog, sorted by name (every signed-in caller may read it). */
        get: operations["listImages"];
        put?: never;
        /**
         * Import a golden image into the platform catalog (platform admins).
         * @description Answers 202 with an operation of kind `image.import`; its progress follows CDI's `status.progress` and it fails with CDI's reason when the import fails. Refusals write nothing: a URL the SSRF guard refuses (https only, plain http for allow-listed hosts; no loopback, private, link-local, metadata or cluster-internal destinations in any encoding) is 422 `URL_NOT_ALLOWED` with the reason; a taken name is 409 `IMAGE_EXISTS`.
         */
        post: operations["importImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/images/{image}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Image name (a DNS label of at most 54 characters). */
                image: string;
            };
            cookie?: never;
        };
        /** One platform image with its import phase and progress. */
        get: operations["getImage"];
        put?: never;
        post?: never;
        /**
         * Delete a platform image (platform admins); 409 `IMAGE_IN_USE` while VMs are built from it.
         * @description Deletes the DataVolume at once (its PVC follows) and answers 204; an import in progress is abandoned and its operation fails.
         */
        delete: operations["deleteImage"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/images": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** A tenant's private images, sorted by name. */
        get: operations["listTenantImages"];
        put?: never;
        /**
         * Import a tenant-private image (tenant owners).
         * @description Like `importImage`, in the tenant's namespace. The tenant's storage quota (and PVC count) is checked before anything is written: over quota is 409 `QUOTA_EXCEEDED` with what is needed and what is left.
         */
        post: operations["importTenantImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/images/{image}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Image name (a DNS label of at most 54 characters). */
                image: string;
            };
            cookie?: never;
        };
        /** One of the tenant's images with its import phase and progress. */
        get: operations["getTenantImage"];
        put?: never;
        post?: never;
        /**
         * Delete one of the tenant's images; 409 `IMAGE_IN_USE` while VMs are built from it.
         * @description Deletes the DataVolume at once (its PVC follows) and answers 204.
         */
        delete: operations["deleteTenantImage"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instance-types": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The VM size catalog and the tenant profiles that may use each size.
         * @description With `tenant`, only the sizes that tenant's profile and per-VM caps allow.
         */
        get: operations["listInstanceTypes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** The tenant's VMs with their state (members see their own only). Served from a watch-backed cache. */
        get: operations["listVms"];
        put?: never;
        /**
         * Create a VM from an image (an operation of kind `vm.create`).
         * @description The quota (CPU and memory requests and limits when it starts at once, storage, PVCs, VM
         *     count) is checked before anything is written: over quota is 409 `QUOTA_EXCEEDED` with
         *     `details.needed` and `details.left`. Tenant members may not create VMs. The operation
         *     succeeds once the VM is Running (or Stopped, with `running: false`).
         */
        post: operations["createVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        /** One VM with its state, reason and the actions valid now (and its auto-shutdown, when it has cost controls). Served from a watch-backed cache. */
        get: operations["getVm"];
        put?: never;
        post?: never;
        /**
         * Delete a VM, its cloud-init Secret and its disks (an operation of kind `vm.delete`).
         * @description Disks of storage class `kv-premium-retain` are kept (labelled `labplane.io/retained-from=<vm>`).
         */
        delete: operations["deleteVm"];
        options?: never;
        head?: never;
        /**
         * Resize a VM (applies at its next restart; `restartRequired` says so) or turn it on or off.
         * @description Growth is checked against the quota when the VM runs; over quota is 409 `QUOTA_EXCEEDED`.
         */
        patch: operations["updateVm"];
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/start": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a VM (an operation of kind `vm.start` that ends when it runs).
         * @description 409 `ACTION_NOT_ALLOWED` when the VM's state does not allow it (see `availableActions`), 409 `QUOTA_EXCEEDED` when its pod does not fit.
         */
        post: operations["startVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stop a VM (an operation of kind `vm.stop` that ends when it has stopped).
         * @description 409 `ACTION_NOT_ALLOWED` when the VM's state does not allow it.
         */
        post: operations["stopVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/restart": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Restart a VM (an operation of kind `vm.restart` that ends when a new instance runs).
         * @description 409 `ACTION_NOT_ALLOWED` when the VM's state does not allow it.
         */
        post: operations["restartVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/migrate": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Live-migrate a running VM to another node (an operation of kind `vm.migrate`).
         * @description 409 `NOT_LIVE_MIGRATABLE` when KubeVirt reports `LiveMigratable=False` (disks not
         *     ReadWriteMany), 409 `ACTION_NOT_ALLOWED` when the VM is not Running, 409
         *     `MIGRATION_NEEDS_HEADROOM` when the quota has no room for the target pod (a second copy of
         *     the VM's pod runs during the move; the platform does not raise the quota on its own).
         */
        post: operations["migrateVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/identity/retry": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a VM's Azure identity flow again (an operation of kind `vm.identity`).
         * @description For a running VM with Arc on whose identity is not ready: waits for its Arc machine to be
         *     connected, installs the SSH login extension and grants the owner access again (every step
         *     is idempotent). 409 `ARC_NOT_ENABLED` for a VM without Arc, `IDENTITY_READY` when there is
         *     nothing to retry, `ACTION_NOT_ALLOWED` when the VM is not Running, `LAB_VM` for a lab's VM
         *     (retry its student through the lab, which re-grants the instructors too). A VM whose agent
         *     never connected needs a new onboarding token: delete and create it again.
         */
        post: operations["retryVmIdentity"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/snapshots": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        /**
         * The VM's snapshots (KubeVirt VirtualMachineSnapshots), sorted by name.
         * @description At most the per-VM limit (SNAPSHOTS_PER_VM, default 10), so not paged. 409
         *     `SNAPSHOTS_NOT_SUPPORTED` when the cluster cannot snapshot VMs (the snapshot.kubevirt.io
         *     CRDs are not served or KubeVirt's `Snapshot` feature gate is off; `detail` says what to enable).
         */
        get: operations["listVmSnapshots"];
        put?: never;
        /**
         * Snapshot a VM, running or stopped (an operation of kind `vm.snapshot` that ends when the snapshot is ready to use).
         * @description Needs `vm.update` on the VM (tenant owners and `vms.manage` integrations; tenant members,
         *     such as students, may list their VMs' snapshots but not take them). 409
         *     `SNAPSHOT_LIMIT_REACHED` when the VM (SNAPSHOTS_PER_VM, default 10) or the tenant
         *     (SNAPSHOTS_PER_TENANT, default 100) has as many as allowed (`details.scope`, `details.limit`),
         *     `SNAPSHOT_EXISTS` for a name taken in the tenant, `QUOTA_EXCEEDED` when the snapshot's
         *     storage (the VM's disk size) does not fit in the tenant's storage quota beside its disks and
         *     other snapshots, `SNAPSHOTS_NOT_SUPPORTED` on a cluster that cannot snapshot. A failure
         *     KubeVirt reports fails the operation with `SNAPSHOT_FAILED`. Success sends the
         *     `vm.snapshot-ready` webhook event.
         */
        post: operations["createVmSnapshot"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/snapshots/{snapshot}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Snapshot name (a DNS label of at most 63 characters). */
                snapshot: string;
            };
            cookie?: never;
        };
        /** One snapshot of the VM with its phase, readiness and how it was taken. */
        get: operations["getVmSnapshot"];
        put?: never;
        post?: never;
        /** Delete a snapshot of the VM; its storage no longer counts against the quota. */
        delete: operations["deleteVmSnapshot"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/restore": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Restore a VM's disks from one of its snapshots (an operation of kind `vm.restore`).
         * @description The VM must be stopped: 409 `ACTION_NOT_ALLOWED` otherwise, unless `stopFirst` is true, when
         *     the operation stops it first. Its steps (`progress.step`): `stop`, `wait-stopped`,
         *     `create-restore` (a KubeVirt VirtualMachineRestore), `wait` (until KubeVirt says it is
         *     complete). The VM stays stopped; start it afterwards. 409 `SNAPSHOT_NOT_READY` for a snapshot
         *     that is not ready to use, `SNAPSHOTS_NOT_SUPPORTED` on a cluster that cannot snapshot; a
         *     failure KubeVirt reports fails the operation with `RESTORE_FAILED`. Needs `vm.update`.
         */
        post: operations["restoreVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/clone": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description The VM to clone (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Clone a VM into a new VM of the same tenant (an operation of kind `vm.clone` whose target is the new VM).
         * @description A KubeVirt VirtualMachineClone (`clone.kubevirt.io/v1beta1`): the clone gets new MAC
         *     addresses and a new SMBIOS serial, its own cloud-init Secret (never the source's), its own
         *     labels, id and owner, and, when the source has Arc on, its own Azure Arc machine through the
         *     usual `vm.identity` onboarding (a child operation): a clone never reuses the source's Arc
         *     agent identity or SSH host keys. Its cloud-init generalises the copied disk on first boot
         *     (once per instance: a new machine id, the source's SSH host keys deleted and new ones
         *     generated, `azcmagent disconnect --force-local-only` before the Arc onboarding connects it as
         *     a new machine). Steps (`progress.step`): `create-clone`, `wait-clone` (KubeVirt's phases
         *     SnapshotInProgress, CreatingTargetVM, RestoreInProgress, Succeeded), `adopt-cloud-init`,
         *     `wait`. Needs `vm.update` on the source VM and `vm.create` in the tenant. 409
         *     `CLONES_NOT_SUPPORTED` when the cluster cannot clone (the clone.kubevirt.io CRD is not served
         *     or KubeVirt's `Snapshot` feature gate is off; `detail` says what to enable), `VM_EXISTS` for a
         *     taken name, `QUOTA_EXCEEDED` when the copy does not fit; KubeVirt's failure fails the
         *     operation with `CLONE_FAILED`.
         */
        post: operations["cloneVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/publish": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description The VM to publish (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Publish a VM's root disk as an image of its tenant (an operation of kind `vm.publish` whose target is the image).
         * @description A CDI clone of the VM's root disk (a DataVolume with `source.pvc`) in the tenant's namespace
         *     becomes the tenant image `image`: a new image, or the next version of an existing one
         *     (`source: { type: vm, vm, version }`; version 1 for a new name, +1 for every later publish;
         *     the new version replaces the previous version's disk, VMs already created keep theirs). The
         *     image has `generalize: true`: VMs created from it generalise their copy on first boot (a new
         *     machine id, new SSH host keys, the Arc agent disconnected before onboarding as a new machine).
         *     The VM must be stopped (409 `ACTION_NOT_ALLOWED`) unless `stopFirst`, when the operation
         *     stops it first; it stays stopped. Steps: `stop`, `wait-stopped`, `replace`, `copy-disk`,
         *     `wait`. Needs `vm.update` on the VM and `image.write` in the tenant; the image is always the
         *     VM's own tenant's. 409 `IMAGE_NOT_READY` while the image is still importing or being
         *     published, `QUOTA_EXCEEDED` when the copy does not fit in the storage quota; CDI's failure
         *     fails the operation with `PUBLISH_FAILED`.
         */
        post: operations["publishVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/reimage": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reimage ("reset") a VM, its root disk replaced by a fresh copy of an image (an operation of kind `vm.reimage`).
         * @description Keeps the VM object, its name, owner, Azure Arc machine (a VM with Arc on gets a fresh
         *     onboarding token and its agent re-onboards under the same machine name, so the same ARM
         *     resource: no new machine, and access grants on it stay) and its cloud-init (replaced only
         *     when `sshPublicKeys` or `cloudInit` are given; a VM with Arc on gets them with its new token).
         *     Steps (`progress.step`): `stop` (a running VM is stopped), `wait-stopped`, `replace-disk`
         *     (the root DataVolume template points at a new DataVolume cloned from the image),
         *     `wait-disk`, `cleanup` (the old disk is deleted), `start` (a VM that ran is started
         *     again; with Arc on, a `vm.identity` child waits for the agent to reconnect).
         *     Without `image`, the VM's own image: needs `vm.power` on the VM, what members (students)
         *     hold on their own VM, so a student may reset their own VM (another's is 404). Another image
         *     needs `vm.update`. The new disk must fit in the storage quota beside the old one (409
         *     `QUOTA_EXCEEDED`); 409 `ACTION_NOT_ALLOWED` while the VM is provisioning, migrating or being
         *     deleted, `IMAGE_NOT_READY`; 422 `IMAGE_NOT_FOUND`, or `VALIDATION_FAILED` for an image larger
         *     than the disk. A disk that fails to clone fails the operation with `REIMAGE_FAILED`.
         */
        post: operations["reimageVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/access": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        /**
         * Who may log in to the VM over Azure AD SSH (role assignments on its Arc machine).
         * @description 409 `ARC_NOT_ENABLED` when the VM was created without Azure Arc.
         */
        get: operations["listVmAccess"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/access/{principalId}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Azure AD object id of the user or group. */
                principalId: string;
            };
            cookie?: never;
        };
        /**
         * The access one user or group holds on the VM (one grant per role); 404 when it holds none.
         * @description The ETag covers the principal's grants; send it in If-Match to grant or revoke only if they did not change.
         */
        get: operations["getVmAccess"];
        /**
         * Grant a user or group `administrator` (sudo) or `user` login on the VM. Idempotent.
         * @description Tenant owners may grant either role; members may grant nothing. 409 `ARC_NOT_ENABLED` when the VM has no Azure Arc.
         */
        put: operations["grantVmAccess"];
        post?: never;
        /** Revoke every access role of the principal on the VM. Idempotent. */
        delete: operations["revokeVmAccess"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/vms/{vm}/console": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A single-use ticket that opens the VM's VNC or serial console in a browser.
         * @description The VM's owner, tenant owners, the instructors of the VM's lab and platform admins; a member only on their own VM (another's is 404, as is another tenant's VM); integrations are 403. The ticket is bound to the caller, the VM and the console type, opens one console once, and expires within 60 seconds: open `url` (the console page, ticket in its fragment) or the websocket at `websocketPath`. 409 `ACTION_NOT_ALLOWED` unless the VM runs; 409 `CONSOLE_LIMIT_REACHED` when the VM or the tenant has as many open consoles as allowed (CONSOLES_PER_VM, CONSOLES_PER_TENANT).
         */
        post: operations["createConsoleTicket"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/console/{ticket}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A ticket from `createConsoleTicket` (single use, a minute at most). It is the credential; it is never logged. */
                ticket: string;
            };
            cookie?: never;
        };
        /**
         * The console itself, a WebSocket (binary frames of raw bytes, RFB for VNC, a byte stream for serial).
         * @description Upgrade to a WebSocket (no subprotocol needed). The ticket is used up by the attempt, whatever its outcome. Browsers cannot send Authorization on a WebSocket, so the ticket alone opens it; a client that sends a bearer token must be the ticket's holder. An `Origin` other than this host is refused (403). The proxy connects to KubeVirt's `vnc` or `console` subresource with the control plane's own credentials, applies backpressure both ways, and closes both sides together: after CONSOLE_IDLE_TIMEOUT_MS without a byte, after CONSOLE_MAX_SESSION_MS, or when either side closes. Each session is an audit event (`consoleSession`, with its `console` record); open sessions are the `labplane_console_sessions` gauge on /metrics.
         */
        get: operations["openConsole"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/vnc": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The VNC console page (noVNC from this origin), opened with `#ticket=...` in its fragment.
         * @description Keyboard, Ctrl-Alt-Del, typing pasted text, full screen. Strict CSP (scripts from this origin only, websockets to it only), not framable.
         */
        get: operations["getVncConsolePage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/console/serial": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The serial console page (xterm.js from this origin), opened with `#ticket=...` in its fragment.
         * @description Keyboard, paste, full screen. Strict CSP (scripts from this origin only, websockets to it only), not framable.
         */
        get: operations["getSerialConsolePage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/nodes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The nodes that run VMs, with how many VMs run on each (platform admins). */
        get: operations["listNodes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/nodes/{node}/evacuate": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                node: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Live-migrate every VM off a node (platform admins).
         * @description A parent operation of kind `node.evacuate` with one child `vm.migrate` operation per VM
         *     (`parentId`), at most 4 at a time. VMs that cannot move are skipped and listed in the
         *     result with the reason; `result.complete` says whether the node is empty. A node already
         *     being evacuated answers 409 `NODE_EVACUATION_RUNNING` with `details.operationId`.
         */
        post: operations["evacuateNode"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** The tenant's course labs, sorted by name, with their phase and per-status student counts. */
        get: operations["listLabs"];
        put?: never;
        /**
         * Create a course lab and provision one VM per student (an operation of kind `lab.sync`).
         * @description The quota for the whole lab (every student's VM) is checked before anything is written: over
         *     quota is 409 `QUOTA_EXCEEDED` with `details.needed` and `details.left`. A taken name is 409
         *     `LAB_EXISTS`; an unknown image is 422 `IMAGE_NOT_FOUND`. The `lab.sync` operation has one
         *     child `lab.student` operation per student (`parentId`); a failed student does not fail the
         *     others and can be retried alone.
         */
        post: operations["createLab"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        /** One lab with its template, schedules, phase and per-status student counts. */
        get: operations["getLab"];
        put?: never;
        post?: never;
        /** Delete a lab and every student VM of it, with their Arc machines (an operation of kind `lab.delete`). */
        delete: operations["deleteLab"];
        options?: never;
        head?: never;
        /**
         * Change a lab's name, course, template, instructors, schedules or end of course.
         * @description Absent fields stay; `null` clears `displayName`, `course` or `endsAt`. A new template applies
         *     to VMs created from now on. Changed instructors start a `lab.sync` operation (their access
         *     on every VM). The roster changes through `PUT .../roster` only.
         */
        patch: operations["updateLab"];
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/roster": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Replace the roster (idempotent) and provision or drop students accordingly (an operation of kind `lab.sync`).
         * @description Added students get a VM; removed ones are dropped (their VM is stopped and their access
         *     revoked at once, the VM is deleted after the lab's `dropGracePeriodHours`); unchanged ones
         *     are left alone. The quota for the added students is checked before anything is written
         *     (409 `QUOTA_EXCEEDED` with `details.needed` and `details.left`). The answer carries the
         *     operation and what changed, by student id. A student may be given by `email` alone: it is
         *     resolved to the one directory user with that address; an address that matches none or
         *     several is 422 `EMAIL_NOT_RESOLVED` with one `errors[]` entry each (`/students/3/email`,
         *     `reason` `not-in-directory` or `ambiguous`), and nothing is written.
         */
        put: operations["syncLabRoster"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/lti/sync": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sync the roster of a lab bound to an LMS course from the course now (an operation of kind `lti.roster-sync`).
         * @description Reads the course's members through the LMS's Names and Role Provisioning service (NRPS 2.0):
         *     active Learners become the students, active Instructors and Teaching Assistants the
         *     instructors (instructors added by hand stay), each matched to a directory user by email.
         *     The students then go through the lab's roster sync (as `PUT …/roster`: the same diff, grace
         *     periods and `lab.roster-synced` webhook). Members without an email, or whose address matches
         *     no directory user or several, get no VM and are listed in the lab's `ltiSync.unresolved`.
         *     Bound labs are also synced every `LTI_ROSTER_SYNC_HOURS` and when an instructor launches
         *     them. While a sync of the lab is queued or running, that one is answered. A lab that is not
         *     bound is 409 `LAB_NOT_LTI_BOUND`; one whose LMS offered no NRPS, 409 `LTI_NO_MEMBERSHIP_SERVICE`.
         */
        post: operations["syncLabFromLms"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/reimage": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rebuild student VMs from the lab's current template image (an operation of kind `lab.reimage`).
         * @description One `vm.reimage` child per student VM (all roster students with a VM, or `students`), at most
         *     the lab parallelism (LAB_PARALLELISM) at once; each keeps the VM's name, owner, Arc machine and
         *     access. The result sums up `{ total, succeeded, failed: [{ student, code, reason }] }`. 400 for a
         *     student not on the roster or without a VM (`errors[].field` `/students/<i>`), 409
         *     `LAB_DELETING`, `QUOTA_EXCEEDED` when not even one new disk fits beside the old ones (children
         *     the quota refuses later wait for those under way). A student resets their own VM with
         *     `POST .../vms/{vm}/reimage`.
         */
        post: operations["reimageLab"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/template-vm": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        /**
         * The lab's template VM (`<lab>-template`), where an instructor prepares the course software.
         * @description 404 `TEMPLATE_VM_NOT_FOUND` when the lab has none.
         */
        get: operations["getLabTemplateVm"];
        put?: never;
        /**
         * Create the lab's template VM from the lab's template (an operation of kind `vm.create`).
         * @description Named `<lab>-template`, labelled with the lab but never one of its students: it is left out
         *     of the students, summary, schedules, drops and usage. Owned by the caller or the given
         *     instructor of the lab; every instructor gets `administrator` once it is onboarded (Arc on).
         *     409 `TEMPLATE_VM_EXISTS` when the lab has one, `LAB_DELETING`, `QUOTA_EXCEEDED`; 400 for an
         *     owner who is neither the caller nor an instructor (`/owner`).
         */
        post: operations["createLabTemplateVm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/template-vm/publish": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Publish the lab's template VM as a tenant image and make it the lab's template image (an operation of kind `lab.template-publish`).
         * @description Publishes the template VM's disk as a new version of the tenant image `image` (default
         *     `<lab>-template`) through a `vm.publish` child (the template VM is stopped first), then points the lab's `template.image` at it
         *     (a lab spec change: students are not reprovisioned; `POST .../reimage` rebuilds them). Its
         *     success sends the `lab.template-published` webhook event. 404 `TEMPLATE_VM_NOT_FOUND`, 409
         *     `IMAGE_PUBLISH_NOT_AVAILABLE` where VMs cannot be published as images; a failed publish
         *     fails the operation with `TEMPLATE_PUBLISH_FAILED`.
         */
        post: operations["publishLabTemplate"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/students": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        /** The roster (and dropped students still holding a VM) with each student's status, sorted by id. */
        get: operations["listLabStudents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/students/{student}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
                /** @description The student's Azure AD object id (a GUID). */
                student: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Provision one failed (or pending) student again, alone (an operation of kind `lab.student`).
         * @description 404 when the student is not on the roster.
         */
        post: operations["retryLabStudent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/students/{student}/usage-hours": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
                /** @description The student's Azure AD object id (a GUID). */
                student: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Give a student of the roster hours beyond the lab's usage quota (instructors; negative hours take back a mistake).
         * @description Adds `hours` (whole quarters of an hour, not 0) to the hours the student was given beyond the
         *     lab's `costControls.usageQuotaHours`, and answers the student's new total. The total stays
         *     between 0 and 2000: a change that would leave it is 422 `ADDED_HOURS_OUT_OF_RANGE` (with the
         *     current total in `details`). Concurrent additions all count (compare-and-set on the lab).
         *     404 `STUDENT_NOT_FOUND` when the student is not on the roster; 409 `LAB_COST_CONTROLS_UNSET`
         *     for a lab made before cost controls existed (PATCH its `costControls` first). Send an
         *     `Idempotency-Key` so that a retried request does not add the hours twice.
         */
        post: operations["addLabUsageHours"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/labs/{lab}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        /**
         * Each roster student's hours of use against the lab's quota (JSON, or CSV with `Accept text/csv`).
         * @description Hours a student's VM ran outside the lab's class hours (scheduled hours never count), as the usage meter recorded them, against the lab's `usageQuotaHours` plus the hours instructors added for the student. Without a quota on the lab, `quotaHours` and `leftHours` are absent and nobody is exhausted. Hours are rounded down to the hundredth. With `Accept: text/csv`, the same rows as a CSV attachment (a header row; cells that a spreadsheet would read as a formula are prefixed with `'`).
         */
        get: operations["getLabUsage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/usage": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /**
         * The tenant's usage summary, per lab (students, hours used, students over quota) and of the VMs outside labs.
         * @description For those who may read the tenant's labs (owners, integrations, platform administrators); members get 403.
         */
        get: operations["getTenantUsage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** The tenant's webhooks, oldest first (never with their signing secrets). */
        get: operations["listWebhooks"];
        put?: never;
        /**
         * Register a webhook; the answer holds its signing secret, shown this once.
         * @description Deliveries are signed following Standard Webhooks (https://www.standardwebhooks.com):
         *     headers `webhook-id` (the event id, the same on every retry), `webhook-timestamp` (unix
         *     seconds) and `webhook-signature` (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` keyed
         *     with the secret's base64-decoded bytes after `whsec_`). The body is
         *     `{ id, type, timestamp, tenant, data }`. The URL must be https (http only for hosts an
         *     administrator allow-listed) and must not reach loopback, private, link-local or metadata
         *     addresses: a refusal is 422 `URL_NOT_ALLOWED` (checked again before every delivery). A
         *     tenant holds at most 20 webhooks (409 `WEBHOOK_LIMIT_REACHED`). A delivery succeeds on a
         *     2xx within 10 s; otherwise it is retried at 5 s, 5 min, 30 min, 2 h, 5 h, 8 h and 8 h
         *     (redirects are not followed); an answer 410 Gone stops retrying that delivery.
         */
        post: operations["createWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        /** One webhook (without its signing secret). */
        get: operations["getWebhook"];
        put?: never;
        post?: never;
        /** Delete a webhook and its delivery records; deliveries still queued for it are dropped. */
        delete: operations["deleteWebhook"];
        options?: never;
        head?: never;
        /**
         * Change a webhook's URL, events, description or status.
         * @description Absent fields stay as they are; `description: null` (or `""`) removes it. A new URL is vetted
         *     as at registration (422 `URL_NOT_ALLOWED`). `status: active` re-enables a webhook that was
         *     disabled (automatically, after its receiver failed for `WEBHOOK_DISABLE_AFTER_HOURS`, or on
         *     request) and starts its failure record again; `status: disabled` stops its deliveries (pings
         *     are still sent). The signing secret does not change (see `rotate-secret`).
         */
        patch: operations["updateWebhook"];
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks/{id}/ping": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a `webhook.ping` event to this webhook (to test its receiver).
         * @description The ping goes to this webhook only, whatever events it subscribed to and even while it is
         *     disabled (so a receiver can be checked before re-enabling it). The answer is the delivery,
         *     `pending`; read it at `Location` for the outcome. Its success or failure counts for the
         *     webhook's receiver like any delivery.
         */
        post: operations["pingWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks/{id}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Replace the signing secret; the answer holds the new one, shown this once.
         * @description The secret it replaces keeps signing deliveries, beside the new one, for `overlapHours`
         *     (default `WEBHOOK_SECRET_OVERLAP_HOURS`, 24): meanwhile `webhook-signature` carries two
         *     space-separated entries, `v1,<signature with the new secret> v1,<signature with the old one>`
         *     (Standard Webhooks), so receivers verify with either while they switch. `overlapHours: 0`
         *     stops the old secret at once (after a leak). Rotating again during an overlap ends the
         *     earlier one: only the secret being replaced keeps signing.
         */
        post: operations["rotateWebhookSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks/{id}/deliveries/{deliveryId}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
                /** @description Delivery id (a UUID). */
                deliveryId: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        /** One delivery to the webhook (its status, attempts, last answer). */
        get: operations["getWebhookDelivery"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks/{id}/deliveries/{deliveryId}/redeliver": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
                /** @description Delivery id (a UUID). */
                deliveryId: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a finished delivery again (same event, body and `webhook-id`), as a new delivery.
         * @description For a delivery that succeeded or failed (409 `DELIVERY_IN_PROGRESS` while it is still being
         *     tried). The new delivery (`redeliveryOf` names the original) is retried on the usual
         *     schedule. It carries the same `webhook-id`, so a receiver that already processed the event
         *     may drop it. Refused while the webhook is disabled (409 `WEBHOOK_DISABLED`).
         */
        post: operations["redeliverWebhookDelivery"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/webhooks/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        /** Recent deliveries to the webhook, newest first (the last 100, at most 7 days old). */
        get: operations["listWebhookDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/operations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Operations the caller may see, newest first. */
        get: operations["listOperations"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/operations/{operationId}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                operationId: components["parameters"]["OperationId"];
            };
            cookie?: never;
        };
        /** One operation with its status, progress, attempts, result and last error. */
        get: operations["getOperation"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/operations/{operationId}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                operationId: components["parameters"]["OperationId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stop further steps of a queued or running operation.
         * @description The running step is asked to stop; the operation ends `canceled` and its result says where it stopped.
         */
        post: operations["cancelOperation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/lti/jwks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The tool's public keys (JWKS) LMS platforms verify its signatures with.
         * @description Public, no authentication (platforms fetch it). The current RS256 key comes first; a key
         *     replaced by a rotation stays published for an hour, longer than anything it signed is valid.
         *     Each key's `kid` is its RFC 7638 thumbprint. Cached by clients for 5 minutes.
         */
        get: operations["getLtiJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/lti/keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make a new tool signing key current now (the previous one stays published for an hour).
         * @description Keys also rotate on their own every `LTI_KEY_ROTATION_DAYS` (default 90). Rotate at once when
         *     a private key may have leaked. Platform administrators only.
         */
        post: operations["rotateLtiKeys"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/lti/registrations": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /** The tenant's LTI 1.3 platform registrations (LMSs that launch labplane), oldest first. */
        get: operations["listLtiRegistrations"];
        put?: never;
        /**
         * Register an LTI 1.3 platform (what its administrator noted when adding labplane as a tool).
         * @description The pair (`issuer`, `clientId`) may be registered once across the whole service: a launch must
         *     reach exactly one tenant (409 `LTI_REGISTRATION_EXISTS`). A tenant holds at most 20
         *     registrations (409 `LTI_REGISTRATION_LIMIT_REACHED`). The issuer and the platform's URLs must
         *     be https (http only on the embedded simulated cluster); the issuer has no query or fragment.
         */
        post: operations["createLtiRegistration"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/lti/registrations/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Registration id (a UUID). */
                id: components["parameters"]["LtiRegistrationId"];
            };
            cookie?: never;
        };
        /** One platform registration. */
        get: operations["getLtiRegistration"];
        /**
         * Replace a registration's fields (a new deployment, new platform URLs).
         * @description Every field is given (absent `displayName` clears it). Changing `issuer` or `clientId` keeps
         *     the id; a pair registered elsewhere is 409 `LTI_REGISTRATION_EXISTS`.
         */
        put: operations["updateLtiRegistration"];
        post?: never;
        /** Remove a platform registration; launches from it are refused from now on. */
        delete: operations["deleteLtiRegistration"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/tenants/{tenant}/lti/tool-configuration": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        /**
         * What an LMS administrator enters to add labplane as an LTI 1.3 tool (Canvas JSON, Moodle fields).
         * @description URLs are absolute, from `PUBLIC_URL` when it is set (set it in every deployment), else from
         *     the request's origin. See docs/lti.md for the steps in Canvas and Moodle.
         */
        get: operations["getLtiToolConfiguration"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface webhooks {
    "operation.succeeded": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * An operation a client started (no `parentId`) succeeded.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["OperationSucceededEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "operation.failed": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * An operation a client started (no `parentId`) failed.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["OperationFailedEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "vm.ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A VM is running (with Azure Arc: its identity is set up too).
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["VmReadyEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "vm.snapshot-ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A snapshot of a VM is ready to use.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["VmSnapshotReadyEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "lab.ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Every student VM of a lab is ready.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["LabReadyEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "lab.roster-synced": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A roster change of a lab was applied.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["LabRosterSyncedEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "vm.idle-warning": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A running VM is idle and will be stopped at `stopAt` unless someone uses it.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["VmIdleWarningEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "vm.quota-warning": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A lab student's VM has used up (or is about to use up) the student's hours and will be stopped at `stopAt`.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["VmQuotaWarningEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "vm.auto-shutdown": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The idle detector started stopping a VM (idle, or its hours used up).
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["VmAutoShutdownEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "lab.template-published": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A lab's template VM was published; the lab's template image is the new version.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["LabTemplatePublishedEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "webhook.disabled": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Another webhook of the tenant was disabled because its receiver kept failing.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["WebhookDisabledEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "webhook.ping": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sent on request (`POST .../webhooks/{id}/ping`) to one webhook, whatever it subscribed to.
         * @description Sent to the webhook's URL as a signed POST (Standard Webhooks); see `createWebhook`.
         */
        post: {
            parameters: {
                query?: never;
                header: {
                    /** @description The event id (the body's `id`); the same on every retry and redelivery. */
                    "webhook-id": components["parameters"]["WebhookIdHeader"];
                    /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
                    "webhook-timestamp": components["parameters"]["WebhookTimestampHeader"];
                    /**
                     * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
                     *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
                     *     first). A delivery is genuine when any entry verifies.
                     */
                    "webhook-signature": components["parameters"]["WebhookSignatureHeader"];
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["WebhookPingEvent"];
                };
            };
            responses: {
                /** @description Received. Anything else (redirects too), or no answer within 10 s, is retried; 410 Gone stops the retries of this delivery. */
                "2XX": {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export interface components {
    schemas: {
        /**
         * @example {
         *       "keys": [
         *         {
         *           "kty": "RSA",
         *           "kid": "4uVYsEgZF5SpXto1xC-27hcmnLZB4SVL7jtzrXjV9dQ",
         *           "alg": "RS256",
         *           "use": "sig",
         *           "n": "qj_29sEZS0pggOBh87pueqW_iueiB752KRAaqpm4n_O_QECaycBjSAJprS6xzE2j3BjYUabYxQun07lkbzO5wgbceS3AGRbi0IkP3FNbsxo6TKO6gR_LL1_2Ng9UTc4rAfOQm2uomE4_REca2NwIN_vKrxTYQag9bHJjx846UtPJ4uB840N1lFblNfCZ3Utd2TvUE1C1O8R6K_ZUJQ4vo5ChYoMbZw3vM_2SHxh4fhHiLzmPFJyxKkjbyU72wYe2OmojHGNb1rIVZHcG_-1nqbY7ffR8afjdgYZbO3G5wq3BzyRauM6b0SJfXGpPtF3K6SeK0tfZ5GGLcGZMlzI2Pw",
         *           "e": "AQAB"
         *         }
         *       ]
         *     }
         */
        JsonWebKeySet: {
            keys: {
                /** @enum {string} */
                kty: "RSA";
                /** @description RFC 7638 JWK thumbprint (SHA-256). */
                kid: string;
                /** @enum {string} */
                alg: "RS256";
                /** @enum {string} */
                use: "sig";
                n: string;
                e: string;
            }[];
        };
        /**
         * @example {
         *       "issuer": "https://canvas.instructure.com",
         *       "clientId": "10000000000042",
         *       "deploymentIds": [
         *         "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
         *       ],
         *       "authLoginUrl": "https://sso.canvaslms.com/api/lti/authorize_redirect",
         *       "accessTokenUrl": "https://sso.canvaslms.com/login/oauth2/token",
         *       "jwksUrl": "https://sso.canvaslms.com/api/lti/security/jwks"
         *     }
         */
        LtiRegistrationInput: {
            displayName?: string;
            /** @description The platform's issuer (`iss` of its id_tokens), e.g. `https://canvas.instructure.com`; compared exactly. */
            issuer: string;
            /** @description The client id the platform gave labplane. */
            clientId: string;
            /** @description Deployments of labplane on that platform allowed to launch. */
            deploymentIds: string[];
            /** @description The platform's OIDC authorization endpoint. */
            authLoginUrl: string;
            /** @description The platform's OAuth 2 token endpoint (for NRPS). */
            accessTokenUrl: string;
            /** @description The platform's public key set URL. */
            jwksUrl: string;
        };
        /**
         * @example {
         *       "id": "1c26aa98-21d5-43b5-aaa4-93d8be2b7053",
         *       "tenant": "cs101",
         *       "issuer": "https://canvas.instructure.com",
         *       "clientId": "10000000000042",
         *       "deploymentIds": [
         *         "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
         *       ],
         *       "authLoginUrl": "https://sso.canvaslms.com/api/lti/authorize_redirect",
         *       "accessTokenUrl": "https://sso.canvaslms.com/login/oauth2/token",
         *       "jwksUrl": "https://sso.canvaslms.com/api/lti/security/jwks",
         *       "createdAt": "2026-12-07T03:03:51.002Z",
         *       "createdBy": "alice"
         *     }
         */
        LtiRegistration: {
            /** Format: uuid */
            id: string;
            tenant: string;
            displayName?: string;
            issuer: string;
            clientId: string;
            deploymentIds: string[];
            authLoginUrl: string;
            accessTokenUrl: string;
            jwksUrl: string;
            /** Format: date-time */
            createdAt: string;
            createdBy: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "1c26aa98-21d5-43b5-aaa4-93d8be2b7053",
         *           "tenant": "cs101",
         *           "issuer": "https://canvas.instructure.com",
         *           "clientId": "10000000000042",
         *           "deploymentIds": [
         *             "1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"
         *           ],
         *           "authLoginUrl": "https://sso.canvaslms.com/api/lti/authorize_redirect",
         *           "accessTokenUrl": "https://sso.canvaslms.com/login/oauth2/token",
         *           "jwksUrl": "https://sso.canvaslms.com/api/lti/security/jwks",
         *           "createdAt": "2026-12-07T03:03:51.002Z",
         *           "createdBy": "alice"
         *         }
         *       ]
         *     }
         */
        LtiRegistrationList: {
            items: components["schemas"]["LtiRegistration"][];
            /** @description Present when there is a next page; pass it as `cursor`. */
            nextCursor?: string;
        };
        /**
         * @example {
         *       "urls": {
         *         "login": "https://labplane.example.edu/lti/login",
         *         "launch": "https://labplane.example.edu/lti/launch",
         *         "deepLinking": "https://labplane.example.edu/lti/launch",
         *         "jwks": "https://labplane.example.edu/lti/jwks"
         *       },
         *       "canvas": {
         *         "title": "labplane labs",
         *         "description": "Course virtual machine labs: each student opens their own lab VM from the course.",
         *         "oidc_initiation_url": "https://labplane.example.edu/lti/login",
         *         "target_link_uri": "https://labplane.example.edu/lti/launch",
         *         "public_jwk_url": "https://labplane.example.edu/lti/jwks",
         *         "scopes": [
         *           "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
         *         ],
         *         "extensions": [
         *           {
         *             "platform": "canvas.instructure.com",
         *             "domain": "127.0.0.1:38491",
         *             "privacy_level": "public",
         *             "settings": {
         *               "text": "labplane labs",
         *               "placements": [
         *                 {
         *                   "placement": "course_navigation",
         *                   "message_type": "LtiResourceLinkRequest",
         *                   "target_link_uri": "https://labplane.example.edu/lti/launch",
         *                   "text": "VM lab",
         *                   "enabled": true,
         *                   "default": "enabled"
         *                 },
         *                 {
         *                   "placement": "link_selection",
         *                   "message_type": "LtiDeepLinkingRequest",
         *                   "target_link_uri": "https://labplane.example.edu/lti/launch",
         *                   "text": "VM lab"
         *                 },
         *                 {
         *                   "placement": "assignment_selection",
         *                   "message_type": "LtiDeepLinkingRequest",
         *                   "target_link_uri": "https://labplane.example.edu/lti/launch",
         *                   "text": "VM lab"
         *                 }
         *               ]
         *             }
         *           }
         *         ],
         *         "custom_fields": {
         *           "person_email_primary": "$Person.email.primary"
         *         }
         *       },
         *       "moodle": {
         *         "toolUrl": "https://labplane.example.edu/lti/launch",
         *         "ltiVersion": "LTI 1.3",
         *         "publicKeyType": "Keyset URL",
         *         "publicKeysetUrl": "https://labplane.example.edu/lti/jwks",
         *         "initiateLoginUrl": "https://labplane.example.edu/lti/login",
         *         "redirectionUris": [
         *           "https://labplane.example.edu/lti/launch"
         *         ],
         *         "toolName": "labplane labs",
         *         "toolDescription": "Course virtual machine labs: each student opens their own lab VM from the course.",
         *         "customParameters": "person_email_primary=$Person.email.primary",
         *         "supportsDeepLinking": true,
         *         "contentSelectionUrl": "https://labplane.example.edu/lti/launch",
         *         "namesAndRoleProvisioning": "Use this service to retrieve members' information as per privacy settings",
         *         "shareLauncherName": "Always",
         *         "shareLauncherEmail": "Always"
         *       }
         *     }
         */
        LtiToolConfiguration: {
            urls: {
                /** @description OIDC login initiation URL. */
                login: string;
                /** @description Launch (redirect) URL and target link URI. */
                launch: string;
                /** @description Deep Linking request URL (the launch URL). */
                deepLinking: string;
                /** @description The tool's public key set. */
                jwks: string;
            };
            /** @description Canvas developer key (LTI key) JSON configuration, to paste as is. */
            canvas: {
                [key: string]: unknown;
            };
            /** @description The fields of Moodle's "Configure a tool manually" form (External tool → Manage tools). */
            moodle: {
                toolName?: string;
                toolUrl: string;
                toolDescription?: string;
                /** @enum {string} */
                ltiVersion: "LTI 1.3";
                /** @enum {string} */
                publicKeyType: "Keyset URL";
                publicKeysetUrl: string;
                initiateLoginUrl: string;
                redirectionUris: string[];
                customParameters?: string;
                supportsDeepLinking?: boolean;
                contentSelectionUrl?: string;
                namesAndRoleProvisioning?: string;
                shareLauncherName?: string;
                shareLauncherEmail?: string;
            };
        };
        /**
         * @description RFC 9457 problem details.
         * @example {
         *       "type": "urn:labplane:problem:tenant-not-found",
         *       "title": "Not found",
         *       "status": 404,
         *       "code": "TENANT_NOT_FOUND",
         *       "detail": "tenant 'cs999' was not found.",
         *       "instance": "/v1/tenants/cs999"
         *     }
         */
        Problem: {
            /** @description URI reference naming the problem type. */
            type: string;
            title: string;
            status: number;
            detail?: string;
            instance?: string;
            /**
             * @description Stable machine-readable code, also GraphQL's `extensions.code`. Every code the API answers with is listed
             *     below and in `x-error-codes` (status, meaning, whether retrying helps). The list may grow: a client
             *     must accept codes it does not know and fall back on `status`, which is why this is not an `enum`.
             *
             *     | Code | Status | Retry helps | Meaning |
             *     | --- | --- | --- | --- |
             *     | `VALIDATION_FAILED` | 400 | no | The request does not match the contract or the rules; `errors[]` names each offending field. |
             *     | `BAD_REQUEST` | 400 | no | The request could not be handled as sent (with another 4xx status when the HTTP layer chose one). |
             *     | `EMPTY_BODY` | 400 | no | A JSON body is required and none was sent. |
             *     | `INVALID_JSON` | 400 | no | The body is not valid JSON. |
             *     | `INVALID_CONTENT_LENGTH` | 400 | no | The Content-Length header does not match the body. |
             *     | `BAD_CONTENT_TYPE` | 400 | no | The Content-Type header is malformed. |
             *     | `BAD_URL` | 400 | no | The URL is malformed. |
             *     | `TOKEN_TOO_LARGE` | 400 | no | The access token is too large to keep in a browser cookie; send it in the Authorization header instead. |
             *     | `LENGTH_REQUIRED` | 411 | no | The request must state its Content-Length (anonymous GraphQL requests). |
             *     | `PAYLOAD_TOO_LARGE` | 413 | no | The request body is larger than accepted here. |
             *     | `URI_TOO_LONG` | 414 | no | A path parameter is too long. |
             *     | `WEBSOCKET_REQUIRED` | 426 | no | This address only answers a WebSocket upgrade (the VM console). |
             *     | `UNSUPPORTED_MEDIA_TYPE` | 415 | no | The body is sent with a content type this operation does not accept. |
             *     | `REQUEST_TIMEOUT` | 408 | yes, later | The request was not received in time. |
             *     | `HEADERS_TOO_LARGE` | 431 | no | The request line and headers are larger than the server accepts (16 KiB). |
             *     | `RATE_LIMITED` | 429 | yes, later | The caller sent more requests per minute than allowed. |
             *     | `NOT_FOUND` | 404 | no | Nothing is at this address. |
             *     | `ROUTE_NOT_FOUND` | 404 | no | No route matches this method and path. |
             *     | `BAD_IF_MATCH` | 412 | no | If-Match is not an ETag this API returned. |
             *     | `VERSION_MISMATCH` | 412 | after reading again | The resource changed since the version given in If-Match (or expectedVersion). |
             *     | `IDEMPOTENCY_KEY_REUSED` | 422 | no | This Idempotency-Key was already used with a different request body. |
             *     | `IDEMPOTENCY_KEY_IN_PROGRESS` | 409 | yes, later | The first request with this Idempotency-Key is still being handled. |
             *     | `UNAUTHENTICATED` | 401 | no | A valid bearer token is required. |
             *     | `FORBIDDEN` | 403 | no | The caller is not allowed to do this. |
             *     | `CROSS_ORIGIN_REFUSED` | 403 | no | A state-changing /admin request did not come from a page of this site. |
             *     | `DASHBOARD_READ_ONLY` | 403 | no | The queue dashboard is read-only on this deployment. |
             *     | `DASHBOARD_UNAVAILABLE` | 404 | no | The queue dashboard needs Redis; jobs run in process here. |
             *     | `AUTH_KEYS_UNAVAILABLE` | 503 | yes, later | The token signing keys cannot be loaded right now. |
             *     | `GRAPHQL_DOCUMENT_TOO_LARGE` | 400 | no | The GraphQL document has more characters or tokens than the caller may send. |
             *     | `GRAPHQL_PARSE_FAILED` | 400 | no | The GraphQL document cannot be parsed. |
             *     | `GRAPHQL_VALIDATION_FAILED` | 400 | no | The GraphQL document does not validate against the schema. |
             *     | `GRAPHQL_TOO_MANY_ALIASES` | 400 | no | The GraphQL document uses more aliases than allowed. |
             *     | `GRAPHQL_TOO_COSTLY` | 400 | no | The GraphQL query is estimated to cost more than allowed; ask for less or page. |
             *     | `GRAPHQL_SUBSCRIPTION_OVER_HTTP` | 400 | no | Subscriptions run over a WebSocket on /graphql, not over HTTP. |
             *     | `TENANT_NOT_FOUND` | 404 | no | The tenant does not exist (or is not visible to the caller). |
             *     | `MEMBER_NOT_FOUND` | 404 | no | The principal is not a member of the tenant. |
             *     | `VM_NOT_FOUND` | 404 | no | The VM does not exist in the tenant. |
             *     | `IMAGE_NOT_FOUND` | 404, 422 | no | The image does not exist (422 when a VM or lab template refers to it). |
             *     | `LAB_NOT_FOUND` | 404 | no | The lab does not exist in the tenant. |
             *     | `STUDENT_NOT_FOUND` | 404 | no | The student is not on the lab roster. |
             *     | `SNAPSHOT_NOT_FOUND` | 404 | no | The VM has no snapshot of that name. |
             *     | `NODE_NOT_FOUND` | 404 | no | The cluster node does not exist. |
             *     | `CONSOLE_TICKET_NOT_FOUND` | 404 | no | The console ticket is unknown, expired, already used or was issued to someone else; ask for a new one. |
             *     | `OPERATION_NOT_FOUND` | 404 | no | The operation does not exist (or is not visible to the caller). |
             *     | `WEBHOOK_NOT_FOUND` | 404 | no | The webhook does not exist in the tenant. |
             *     | `DELIVERY_NOT_FOUND` | 404 | no | The webhook has no such delivery (records are kept 7 days, the last 100 per webhook). |
             *     | `LTI_REGISTRATION_NOT_FOUND` | 404 | no | The LTI platform registration does not exist in the tenant. |
             *     | `ACCESS_GRANT_NOT_FOUND` | 404 | no | The principal holds no access role on the VM. |
             *     | `ARC_MACHINE_NOT_FOUND` | 404 | no | The Azure Arc machine of the VM does not exist. |
             *     | `EXTENSION_NOT_FOUND` | 404 | no | The VM extension does not exist on the Azure Arc machine. |
             *     | `EXTENSION_OPERATION_NOT_FOUND` | 404 | no | The Azure long-running extension operation is no longer known. |
             *     | `ROLE_ASSIGNMENT_NOT_FOUND` | 404 | no | The Azure role assignment does not exist. |
             *     | `LEASE_NOT_FOUND` | 404 | no | The leader-election Lease does not exist. |
             *     | `OBJECT_NOT_FOUND` | 404 | no | A Kubernetes object the request needs does not exist. |
             *     | `AZURE_RESOURCE_NOT_FOUND` | 404 | no | An Azure resource the request needs does not exist. |
             *     | `ALREADY_EXISTS` | 409 | no | Kubernetes already holds an object of that name. |
             *     | `VERSION_CONFLICT` | 409 | after reading again | The resource kept changing while it was being written. |
             *     | `TENANT_EXISTS` | 409 | no | A tenant with this id already exists. |
             *     | `TENANT_TERMINATING` | 409 | yes, later | The tenant is being deleted: nothing new can be made in it, and a tenant of that id can be created again once it is gone. |
             *     | `TENANT_HAS_VMS` | 409 | no | The tenant still has VMs; delete them or pass force=true. |
             *     | `NAMESPACE_TAKEN` | 409 | no | A namespace of that name exists and does not belong to the platform. |
             *     | `QUOTA_BELOW_USAGE` | 409 | no | The new quota is below what the tenant already uses. |
             *     | `LAST_OWNER` | 409 | no | A tenant keeps at least one owner. |
             *     | `QUOTA_EXCEEDED` | 409 | no | The request does not fit in what the tenant quota leaves; `details` gives the figures. |
             *     | `MIGRATION_NEEDS_HEADROOM` | 409 | no | Live migration needs quota room for a second copy of the VM while it moves. |
             *     | `NOT_LIVE_MIGRATABLE` | 409 | no | The VM cannot be live-migrated (its disks are not ReadWriteMany). |
             *     | `USAGE_QUOTA_EXHAUSTED` | 409 | no | The student has used the hours of their lab quota (class hours do not count); `details` gives usedHours, quotaHours, addedHours and leftHours. Instructors can add hours or start the VM themselves. |
             *     | `ACTION_NOT_ALLOWED` | 409 | no | The action is not possible in the VM’s current state; `details.state` says which. |
             *     | `VM_ACTION_REFUSED` | 409 | no | KubeVirt refused the VM action. |
             *     | `VM_EXISTS` | 409 | no | A VM of that name already exists in the tenant. |
             *     | `VM_GONE` | 409, 502 | no | The VM was deleted while it was being changed or provisioned. |
             *     | `SNAPSHOT_EXISTS` | 409 | no | A snapshot of that name already exists in the tenant (snapshot names are unique per tenant). |
             *     | `SNAPSHOT_LIMIT_REACHED` | 409 | no | The VM (or the tenant) has as many snapshots as allowed; `details.scope` says which and `details.limit` the figure. Delete one first. |
             *     | `SNAPSHOT_NOT_READY` | 409 | yes, later | The snapshot is not ready to use (still in progress or failed); restore from a ready one. |
             *     | `SNAPSHOTS_NOT_SUPPORTED` | 409 | no | The cluster cannot take VM snapshots: the snapshot.kubevirt.io CRDs are not served or KubeVirt’s Snapshot feature gate is off; `detail` says what to enable. |
             *     | `CLONES_NOT_SUPPORTED` | 409 | no | The cluster cannot clone VMs: the clone.kubevirt.io CRD (virtualmachineclones) is not served or KubeVirt’s Snapshot feature gate is off; `detail` says what to enable. |
             *     | `NODE_EVACUATION_RUNNING` | 409 | no | The node is already being evacuated; `details.operationId` names the operation. |
             *     | `IMAGE_EXISTS` | 409 | no | An image of that name already exists. |
             *     | `IMAGE_IN_USE` | 409 | no | VMs still use the image; delete them first. |
             *     | `IMAGE_NOT_READY` | 409 | yes, later | The image is still importing; use it once it is Ready. |
             *     | `IMAGE_DELETED` | 409 | no | The image was deleted while it was being imported. |
             *     | `ARC_NOT_ENABLED` | 409 | no | The VM was created without Azure Arc, so it has no Azure identity. |
             *     | `ARC_ONBOARDING_NOT_CONFIGURED` | 409 | no | Azure Arc onboarding is not configured on this platform. |
             *     | `TEMPLATE_VM_EXISTS` | 409 | no | The lab already has a template VM; publish or delete it first. |
             *     | `TEMPLATE_VM_NOT_FOUND` | 404 | no | The lab has no template VM; create one first. |
             *     | `IMAGE_PUBLISH_NOT_AVAILABLE` | 409 | no | Publishing a VM as an image is not available on this platform, so a lab's template VM cannot be published yet. |
             *     | `IDENTITY_READY` | 409 | no | The VM’s Azure identity is ready; there is nothing to retry. |
             *     | `LAB_VM` | 409 | no | The VM belongs to a lab; act on it through the lab. |
             *     | `LAB_EXISTS` | 409 | no | A lab of that name already exists in the tenant. |
             *     | `LAB_DELETING` | 409 | no | The lab is being deleted. |
             *     | `LAB_BOUND_ELSEWHERE` | 409 | no | The lab is bound to another LMS course; confirm re-binding to move it. |
             *     | `STUDENT_NOT_FAILED` | 409 | no | Only a failed or pending student can be retried. |
             *     | `LAB_COST_CONTROLS_UNSET` | 409 | no | The lab has no cost controls (it was made before they existed); set them with a PATCH of `costControls` first. |
             *     | `LAB_NOT_LTI_BOUND` | 409 | no | The lab is not bound to an LMS course (Deep Linking), so it has no LMS roster to sync. |
             *     | `LTI_NO_MEMBERSHIP_SERVICE` | 409 | no | The LMS did not offer its Names and Role Provisioning service for the course the lab is bound to, so its roster cannot be read. |
             *     | `LTI_EMPTY_MEMBERSHIP` | 409 | no | The LMS answered an empty course membership for a lab that has students; they are kept (change the roster by hand if the course is really empty). |
             *     | `LTI_NOT_CONFIGURED` | 409 | no | The directory or the LMS membership service is not configured on this platform, so people cannot be given by email nor rosters synced from an LMS. |
             *     | `LTI_REGISTRATION_GONE` | 409 | no | The LMS registration the lab is bound through no longer exists; bind the lab again. |
             *     | `CONSOLE_LIMIT_REACHED` | 409 | yes, later | The VM (or the tenant) has as many open consoles as allowed; `details.scope` says which and `details.limit` the figure. |
             *     | `WEBHOOK_EXISTS` | 409 | no | A webhook with this id already exists. |
             *     | `WEBHOOK_LIMIT_REACHED` | 409 | no | The tenant has as many webhooks as allowed; delete one first. |
             *     | `WEBHOOK_DISABLED` | 409 | no | The webhook is disabled; re-enable it (PATCH `status: active`) first. |
             *     | `DELIVERY_IN_PROGRESS` | 409 | yes, later | The delivery is still being tried; redeliver it once it succeeded or failed. |
             *     | `LTI_REGISTRATION_EXISTS` | 409 | no | The platform issuer and client id are already registered (by this or another tenant); a launch must name one tenant. |
             *     | `LTI_REGISTRATION_LIMIT_REACHED` | 409 | no | The tenant has as many LTI platform registrations as allowed; delete one first. |
             *     | `OPERATION_EXISTS` | 409 | no | An operation with this id already exists. |
             *     | `OPERATION_FINISHED` | 409 | no | The operation has already finished. |
             *     | `AZURE_CONFLICT` | 409 | no | Azure refused the change because of a conflict. |
             *     | `AZURE_ROLE_ASSIGNMENT_EXISTS` | 409 | no | The Azure role assignment already exists. |
             *     | `URL_NOT_ALLOWED` | 422 | no | The outbound URL (image source, webhook target) is refused; `details.reason` names the rule. |
             *     | `ARC_SERVICE_PRINCIPAL_NOT_ALLOWED` | 412 | no | Onboarding with a service principal secret is switched off on this platform. |
             *     | `EMAIL_NOT_RESOLVED` | 422 | no | People given by email must each match exactly one directory user; `errors[]` names each address that did not (not-in-directory or ambiguous). |
             *     | `IMAGE_IMPORT_FAILED` | 422 | no | The image import failed; `detail` gives the importer’s reason. |
             *     | `ADDED_HOURS_OUT_OF_RANGE` | 422 | no | The hours a student was given would total below 0 or above the largest quota; `details` gives the current total and the bounds. |
             *     | `VM_FAILED` | 422, 502 | no | The VM went into an error state while it was being provisioned or changed. |
             *     | `VM_ERROR` | 422 | no | A lab student’s VM is in an error state (lab student status only). |
             *     | `VM_WAIT_TIMEOUT` | 503, 502 | no | The VM did not reach the awaited state in time. |
             *     | `SNAPSHOT_FAILED` | 422, 502 | no | KubeVirt failed to take the snapshot; `detail` gives its error. |
             *     | `CLONE_FAILED` | 422, 502 | no | KubeVirt failed to clone the VM; `detail` gives its reason. |
             *     | `PUBLISH_FAILED` | 422, 502 | no | CDI failed to copy the VM’s disk into the image; `detail` gives its reason. |
             *     | `RESTORE_FAILED` | 422, 502 | no | KubeVirt failed to restore the VM from its snapshot; `detail` gives its reason. |
             *     | `REIMAGE_FAILED` | 422, 502 | no | The new root disk of a reimaged VM failed to clone from its image; `details.disk` names it. |
             *     | `TEMPLATE_PUBLISH_FAILED` | 422, 502 | no | Publishing the lab's template VM as an image failed; `details.operationId` names the publish operation. |
             *     | `MIGRATION_FAILED` | 422, 502 | no | The live migration failed; `details.migration` names it. |
             *     | `ARC_NOT_CONNECTED` | 422, 502 | no | The VM’s Azure Arc machine did not appear or connect in time. |
             *     | `ARC_EXTENSION_FAILED` | 422, 502 | no | Installing the Azure AD SSH login extension failed. |
             *     | `WAIT_TIMED_OUT` | 422 | no | The operation waited too long without progress and was given up. |
             *     | `JOB_LOST` | 422 | no | The work was interrupted too many times and was given up. |
             *     | `UNKNOWN_JOB_KIND` | 422 | no | No worker handles the operation’s kind. |
             *     | `CANCELED` | 422 | no | A child operation of a lab was canceled. |
             *     | `FAILED` | 422 | no | A child operation of a lab failed without a recorded error. |
             *     | `KUBERNETES_UNAVAILABLE` | 503 | yes, later | The Kubernetes API server is unreachable or failing. |
             *     | `KUBERNETES_THROTTLED` | 503 | yes, later | The Kubernetes API server (or our own write budget) is throttling requests. |
             *     | `CRD_NOT_INSTALLED` | 503 | yes, later | The cluster does not serve a custom resource the platform needs; `details.crd` names it. |
             *     | `CLIENT_BUDGET_EXHAUSTED` | 503 | yes, later | Too many upstream calls are queued. |
             *     | `KUBERNETES_INVALID` | 502 | no | Kubernetes found the object invalid. |
             *     | `KUBERNETES_FORBIDDEN` | 502 | no | Kubernetes refused the platform’s request (RBAC). |
             *     | `KUBERNETES_UNAUTHORIZED` | 502 | no | Kubernetes did not accept the platform’s credentials. |
             *     | `KUBERNETES_REJECTED` | 502 | no | Kubernetes rejected the request for another reason. |
             *     | `AZURE_UNREACHABLE` | 503 | yes, later | Azure Resource Manager is unreachable. |
             *     | `AZURE_UNAVAILABLE` | 503 | yes, later | Azure Resource Manager failed or did not answer in time. |
             *     | `AZURE_THROTTLED` | 503 | yes, later | Azure Resource Manager (or our own call budget for it) is throttling requests. |
             *     | `AZURE_CREDENTIAL_UNAVAILABLE` | 503 | yes, later | Azure AD could not issue a token right now. |
             *     | `AZURE_ONBOARDING_TOKEN_TOO_SHORT` | 503 | yes, later | The Arc onboarding token expires too soon to be used. |
             *     | `AZURE_PRINCIPAL_NOT_FOUND` | 503 | yes, later | Azure AD does not know the principal yet (replication). |
             *     | `AZURE_ROLE_ASSIGNMENT_NOT_VISIBLE` | 503 | yes, later | The role assignment exists but is not visible yet. |
             *     | `AZURE_CREDENTIAL_REJECTED` | 502 | no | The platform’s Azure identity could not get a token; its configuration is wrong. |
             *     | `AZURE_SCOPE_NOT_FOUND` | 502 | no | The configured Azure subscription or resource group does not exist. |
             *     | `AZURE_UNAUTHORIZED` | 502 | no | Azure did not accept the platform’s token. |
             *     | `AZURE_FORBIDDEN` | 502 | no | Azure refused the platform’s request. |
             *     | `AZURE_REJECTED` | 502 | no | Azure rejected the request for another reason. |
             *     | `REDIS_UNAVAILABLE` | 503 | yes, later | Redis (jobs, idempotency, rate limits) is unreachable. |
             *     | `DNS_UNAVAILABLE` | 503 | yes, later | A host name could not be resolved right now. |
             *     | `LTI_PLATFORM_UNAVAILABLE` | 503 | yes, later | The LMS (its token endpoint or membership service) is unreachable, failing or did not answer in time. |
             *     | `LTI_TOKEN_REFUSED` | 502 | no | The LMS token endpoint refused the tool’s client credentials (registration or tool key not accepted). |
             *     | `LTI_MEMBERSHIP_REFUSED` | 502 | no | The LMS refused to list the course’s members (NRPS not granted or the course is gone). |
             *     | `LTI_PLATFORM_BAD_ANSWER` | 502 | no | The LMS answered with something that is not what LTI specifies (malformed, too large, or a redirect). |
             *     | `LTI_MEMBERSHIP_TOO_LARGE` | 502 | no | The course has more members (or membership pages) than the tool reads. |
             *     | `DIRECTORY_UNAVAILABLE` | 503 | yes, later | The directory (Microsoft Graph) is unreachable, throttling or failing. |
             *     | `DIRECTORY_REJECTED` | 502 | no | The directory (Microsoft Graph) refused the lookup (permissions or credentials). |
             *     | `USAGE_METRICS_UNAVAILABLE` | 503 | yes, later | The metrics source (Prometheus) of VM usage is unreachable, failing, or did not answer in time. |
             *     | `USAGE_METRICS_REJECTED` | 502 | no | The metrics source (Prometheus) of VM usage refused the query or the platform’s credentials. |
             *     | `USAGE_METRICS_BAD_ANSWER` | 502 | no | The metrics source (Prometheus) of VM usage answered with something that is not a Prometheus query result (malformed or too large). |
             *     | `NOT_READY` | 503 | yes, later | The service is not ready; `details.checks` says what fails. |
             *     | `OVERLOADED` | 503 | yes, later | The server is under pressure (event loop or memory). |
             *     | `SERVICE_UNAVAILABLE` | 503 | yes, later | The service is overloaded or a dependency is down. |
             *     | `INTERNAL` | 500 | no | Something went wrong on our side; the request id helps us find it. |
             */
            code: string;
            requestId?: string;
            /** @description The W3C trace id of the request while tracing is on (OTEL_* settings); the same id is in the logs (`trace_id`) and the trace backend. */
            traceId?: string;
            /** @description One entry per offending field, each listed once. */
            errors?: {
                /** @description JSON Pointer (RFC 6901) of the offending field relative to the request body, e.g. `/instructors/0/id`; `/` is the body as a whole. For a parameter outside the body the pointer names the parameter (`/limit`) and `in` says where it is. (Before error codes were catalogued, contract checks answered `body/instructors/0/id` or `query/limit`.) In GraphQL's `extensions.errors` the pointer is relative to the field's arguments (`/input/source/secretRef`). */
                field: string;
                /**
                 * @description Where a field outside the body is; absent for body fields.
                 * @enum {string}
                 */
                in?: "query" | "path" | "header";
                message: string;
                /** @description Machine-readable reason where a code has several, e.g. `not-in-directory` or `ambiguous` for an email address of `EMAIL_NOT_RESOLVED`. */
                reason?: string;
            }[];
            details?: {
                [key: string]: unknown;
            };
        };
        AuditEvent: {
            id: string;
            /** Format: date-time */
            at: string;
            actor: {
                id: string;
                /** @enum {string} */
                kind: "user" | "service";
                name: string;
            };
            onBehalfOf?: string;
            /** @description The operationId (createTenant) or graphql.<mutation>. */
            action: string;
            method: string;
            path: string;
            tenant?: string;
            target?: {
                type: string;
                id: string;
            };
            result: {
                status: number;
                code?: string;
            };
            requestId: string;
            /** @description Why the platform acted on its own, e.g. AutoShutdown:Idle or UsageQuota:Exhausted (the VM stops it started). */
            reason?: string;
            /** @description A console session (action `consoleSession`). */
            console?: {
                type: components["schemas"]["ConsoleType"];
                /** Format: date-time */
                startedAt: string;
                /** Format: date-time */
                endedAt: string;
                durationMs: number;
                /** @description Bytes the browser sent (keys */
                bytesToVm: number;
                /** @description Bytes the VM's console sent. */
                bytesFromVm: number;
                /**
                 * @description Who ended the session.
                 * @enum {string}
                 */
                closedBy: "client" | "vm" | "idle-timeout" | "max-session" | "error";
            };
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "1796612631031-0000000009",
         *           "at": "2026-12-07T03:03:51.031Z",
         *           "actor": {
         *             "id": "alice",
         *             "kind": "user",
         *             "name": "Alice Admin"
         *           },
         *           "action": "createLtiRegistration",
         *           "method": "POST",
         *           "path": "/v1/tenants/cs101/lti/registrations",
         *           "result": {
         *             "status": 201
         *           },
         *           "requestId": "ae21026b-93b3-4ab1-adb8-958e905df1ff",
         *           "tenant": "cs101",
         *           "target": {
         *             "type": "tenant",
         *             "id": "cs101"
         *           }
         *         },
         *         {
         *           "id": "1796612630948-0000000008",
         *           "at": "2026-12-07T03:03:50.948Z",
         *           "actor": {
         *             "id": "alice",
         *             "kind": "user",
         *             "name": "Alice Admin"
         *           },
         *           "action": "createWebhook",
         *           "method": "POST",
         *           "path": "/v1/tenants/cs101/webhooks",
         *           "result": {
         *             "status": 201
         *           },
         *           "requestId": "7f0dd4f1-4a90-4fc7-9433-45f082717e20",
         *           "tenant": "cs101",
         *           "target": {
         *             "type": "tenant",
         *             "id": "cs101"
         *           }
         *         }
         *       ],
         *       "nextCursor": "eyJrIjoiMTc5NjYxMjYzMDk0OC0wMDAwMDAwMDA4In0"
         *     }
         */
        AuditEventList: {
            items: components["schemas"]["AuditEvent"][];
            nextCursor?: string;
        };
        /** @enum {string} */
        ImagePhase: "Importing" | "Ready" | "Failed";
        /** @enum {string} */
        ImageStorageClass: "kv-premium-retain" | "kv-standard";
        /**
         * @example {
         *       "name": "ubuntu-24-04-daily",
         *       "displayName": "Ubuntu 24.04 LTS (daily build)",
         *       "os": "ubuntu",
         *       "source": {
         *         "type": "http",
         *         "url": "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img"
         *       },
         *       "sizeGi": 5
         *     }
         */
        ImageImport: {
            /** @description Also the DataVolume and PVC name. */
            name: string;
            /** @description Defaults to the name. */
            displayName?: string;
            /** @description Operating system hint, e.g. ubuntu-24.04. */
            os?: string;
            source: components["schemas"]["ImageSourceInput"];
            /** @description Disk size in GiB. */
            sizeGi: number;
            storageClass?: components["schemas"]["ImageStorageClass"];
        };
        /** @description Where to import from. `s3` names a Secret in the target namespace holding `accessKeyId` and `secretKey`. */
        ImageSourceInput: {
            /** @enum {string} */
            type: "http";
            /** @description https:// (http:// only for allow-listed hosts). */
            url: string;
        } | {
            /** @enum {string} */
            type: "registry";
            /** @description docker://registry/repository:tag */
            url: string;
        } | {
            /** @enum {string} */
            type: "s3";
            /** @description s3://bucket/key */
            url: string;
            secretRef: {
                name: string;
            };
        };
        /** @description Where the image was imported from (credentials are never shown, only whether a reference exists), or, for `type: vm`, the tenant VM it was published from (`url` is that VM's API path) and the version. */
        ImageSource: {
            /** @enum {string} */
            type: "http" | "registry" | "s3" | "vm";
            url: string;
            hasCredentials: boolean;
            /** @description Published images: the VM whose root disk it is a copy of. */
            vm?: string;
            /** @description Published images: 1 for the first publish to this name, +1 for every later one. */
            version?: number;
        };
        /**
         * @example {
         *       "scope": "platform",
         *       "name": "ubuntu-24-04",
         *       "displayName": "Ubuntu 24.04 LTS (Noble Numbat)",
         *       "source": {
         *         "type": "http",
         *         "url": "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img",
         *         "hasCredentials": false
         *       },
         *       "generalize": false,
         *       "sizeGi": 10,
         *       "storageClass": "kv-standard",
         *       "phase": "Ready",
         *       "progress": 100,
         *       "createdAt": "2026-12-07T03:03:33.000Z",
         *       "os": "ubuntu-24.04"
         *     }
         */
        Image: {
            /** @enum {string} */
            scope: "platform" | "tenant";
            tenant?: string;
            name: string;
            displayName: string;
            os?: string;
            source: components["schemas"]["ImageSource"];
            /** @description VMs created from it generalise their copy of the disk on first boot (cloud-init again, a new machine id, new SSH host keys, the Arc agent disconnected before it onboards as a new machine): true for published images. */
            generalize: boolean;
            sizeGi: number;
            storageClass: components["schemas"]["ImageStorageClass"];
            phase: components["schemas"]["ImagePhase"];
            /** @description Import progress in percent. */
            progress: number;
            failureReason?: string;
            /** Format: date-time */
            createdAt: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "scope": "platform",
         *           "name": "ubuntu-24-04",
         *           "displayName": "Ubuntu 24.04 LTS (Noble Numbat)",
         *           "source": {
         *             "type": "http",
         *             "url": "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img",
         *             "hasCredentials": false
         *           },
         *           "generalize": false,
         *           "sizeGi": 10,
         *           "storageClass": "kv-standard",
         *           "phase": "Ready",
         *           "progress": 100,
         *           "createdAt": "2026-12-07T03:03:33.000Z",
         *           "os": "ubuntu-24.04"
         *         }
         *       ]
         *     }
         */
        ImageList: {
            items: components["schemas"]["Image"][];
            nextCursor?: string;
        };
        InstanceType: {
            name: string;
            /** @description vCPUs (cores). */
            cpu: number;
            memoryGi: number;
            description: string;
            /** @description Tenant profiles that may use it (their per-VM caps apply too). */
            profiles: components["schemas"]["TenantProfile"][];
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "name": "large",
         *           "cpu": 4,
         *           "memoryGi": 8,
         *           "description": "4 vCPU, 8 GiB",
         *           "profiles": [
         *             "faculty",
         *             "admin"
         *           ]
         *         },
         *         {
         *           "name": "medium",
         *           "cpu": 2,
         *           "memoryGi": 4,
         *           "description": "2 vCPU, 4 GiB",
         *           "profiles": [
         *             "student",
         *             "faculty",
         *             "admin"
         *           ]
         *         }
         *       ],
         *       "nextCursor": "eyJrIjoibWVkaXVtIn0"
         *     }
         */
        InstanceTypeList: {
            items: components["schemas"]["InstanceType"][];
            /** @description Present when there is a next page; pass it as `cursor`. */
            nextCursor?: string;
        };
        VmImageRef: {
            /**
             * @description A platform catalog image
             * @enum {string}
             */
            scope: "platform" | "tenant";
            name: string;
        };
        /** @enum {string} */
        VmState: "Provisioning" | "Stopped" | "Starting" | "Running" | "Stopping" | "Migrating" | "Paused" | "Error";
        /**
         * @description A snapshot of a VM (a KubeVirt VirtualMachineSnapshot, labelled with its tenant and VM).
         * @example {
         *       "tenant": "cs101",
         *       "vm": "web-1",
         *       "name": "before-kernel-upgrade",
         *       "phase": "Succeeded",
         *       "readyToUse": true,
         *       "online": true,
         *       "indications": [
         *         "Online",
         *         "GuestAgent"
         *       ],
         *       "creationTime": "2026-09-01T10:15:02Z",
         *       "sizeGi": 20,
         *       "createdAt": "2026-09-01T10:15:00Z",
         *       "deleting": false
         *     }
         */
        VmSnapshot: {
            tenant: string;
            vm: string;
            name: string;
            /**
             * @description KubeVirt's phase; `Unknown` until its controller saw the snapshot.
             * @enum {string}
             */
            phase: "InProgress" | "Succeeded" | "Failed" | "Unknown";
            /** @description True once the VM can be restored from it. */
            readyToUse: boolean;
            /** @description The VM was running when it was taken (indication `Online`). */
            online: boolean;
            /** @description `Online` (taken while running), then `GuestAgent` (the guest agent froze the file systems) or `NoGuestAgent` (crash-consistent only). */
            indications: ("Online" | "GuestAgent" | "NoGuestAgent")[];
            /** @description KubeVirt's error message when it failed. */
            error?: string;
            /**
             * Format: date-time
             * @description When KubeVirt took it.
             */
            creationTime?: string;
            /** @description Storage it counts for against the tenant's quota (the VM's disk size when it was taken). */
            sizeGi: number;
            /** Format: date-time */
            createdAt: string;
            deleting: boolean;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "tenant": "cs101",
         *           "vm": "web-1",
         *           "name": "before-kernel-upgrade",
         *           "phase": "Succeeded",
         *           "readyToUse": true,
         *           "online": true,
         *           "indications": [
         *             "Online",
         *             "GuestAgent"
         *           ],
         *           "creationTime": "2026-09-01T10:15:02Z",
         *           "sizeGi": 20,
         *           "createdAt": "2026-09-01T10:15:00Z",
         *           "deleting": false
         *         }
         *       ]
         *     }
         */
        VmSnapshotList: {
            items: components["schemas"]["VmSnapshot"][];
            /** @description Present when there is a next page; pass it as `cursor`. */
            nextCursor?: string;
        };
        /**
         * @example {
         *       "name": "before-kernel-upgrade"
         *     }
         */
        VmSnapshotCreate: {
            /** @description Unique in the tenant; generated (`<vm>-<yyyymmdd>-<hhmmss>-<hex>`) when absent. */
            name?: string;
        };
        /**
         * @example {
         *       "image": {
         *         "scope": "platform",
         *         "name": "ubuntu-24-04"
         *       }
         *     }
         */
        VmReimage: {
            image?: components["schemas"]["VmImageRef"];
            /** @description Keys of a new cloud-init (default the current one stays; a VM with Arc on without them gets none). */
            sshPublicKeys?: string[];
            /** @description Extra user-data of a new cloud-init. Kept in a Secret, never echoed back. */
            cloudInit?: string;
        };
        /**
         * @example {
         *       "students": [
         *         "3f1c2a9e-8b7d-4c61-9e2f-0a1b2c3d4e5f"
         *       ]
         *     }
         */
        LabReimage: {
            /** @description Object ids of roster students (default every student with a VM). */
            students?: string[];
        };
        /**
         * @example {
         *       "owner": "3f1c2a9e-8b7d-4c61-9e2f-0a1b2c3d4e5f"
         *     }
         */
        LabTemplateVmCreate: {
            /** @description The caller or an instructor of the lab (default the caller). */
            owner?: string;
        };
        /**
         * @example {
         *       "image": "networks-101-v2"
         *     }
         */
        LabTemplatePublish: {
            /** @description Tenant image to publish a new version of (default `<lab>-template`). */
            image?: string;
        };
        /**
         * @example {
         *       "snapshot": "before-kernel-upgrade",
         *       "stopFirst": true
         *     }
         */
        VmRestore: {
            /** @description One of the VM's snapshots */
            snapshot: string;
            /**
             * @description Stop the VM first when it is not stopped (else such a VM is refused with 409 `ACTION_NOT_ALLOWED`).
             * @default false
             */
            stopFirst?: boolean;
        };
        /**
         * @example {
         *       "name": "web-copy",
         *       "running": true
         *     }
         */
        VmClone: {
            /** @description The clone's name, free in the tenant (a DNS label of at most 54 characters). */
            name: string;
            /** @description Principal id of the clone's owner; defaults to the caller. */
            owner?: string;
            /**
             * @description Start the clone once it exists.
             * @default true
             */
            running?: boolean;
            /** @description More authorized keys for the clone (its disk keeps the source's). */
            sshPublicKeys?: string[];
        };
        /**
         * @example {
         *       "image": "course-template",
         *       "displayName": "Course template",
         *       "stopFirst": true
         *     }
         */
        VmPublish: {
            /** @description The tenant image: new, or the next version of an existing one. */
            image: string;
            /** @description Defaults to the existing image's, else the image name. */
            displayName?: string;
            /**
             * @description Stop the VM first when it is not stopped (else such a VM is refused with 409 `ACTION_NOT_ALLOWED`).
             * @default false
             */
            stopFirst?: boolean;
        };
        VmMigration: {
            name: string;
            /** @description KubeVirt phase: Pending, Scheduling, Scheduled, PreparingTarget, TargetReady, Running, Succeeded, Failed. */
            phase: string;
            failureReason?: string;
            /** @description Not shown to tenant members. */
            sourceNode?: string;
            /** @description Not shown to tenant members. */
            targetNode?: string;
        };
        /**
         * @example {
         *       "id": "7d5b81c7-6122-5e54-9db5-0438d7d4c916",
         *       "tenant": "cs101",
         *       "name": "web-arc",
         *       "owner": "alice",
         *       "image": {
         *         "scope": "platform",
         *         "name": "ubuntu-24-04"
         *       },
         *       "instanceType": "small",
         *       "cpu": 1,
         *       "memoryGi": 2,
         *       "diskGi": 10,
         *       "storageClass": "kv-standard",
         *       "arc": true,
         *       "running": true,
         *       "runStrategy": "Always",
         *       "labels": {
         *         "course": "cs101"
         *       },
         *       "state": "Running",
         *       "availableActions": [
         *         "stop",
         *         "restart",
         *         "migrate"
         *       ],
         *       "liveMigratable": true,
         *       "restartRequired": false,
         *       "deleting": false,
         *       "nodeName": "aks-kubevirt-0001",
         *       "identity": {
         *         "arc": {
         *           "status": "Connected",
         *           "machineResourceId": "/subscriptions/00000000-0000-4000-8000-00000000a2c1/resourceGroups/labplane-sim/providers/Microsoft.HybridCompute/machines/web-arc"
         *         },
         *         "extension": {
         *           "state": "Succeeded"
         *         },
         *         "ready": true,
         *         "connectCommand": "az ssh arc --subscription 00000000-0000-4000-8000-00000000a2c1 --resource-group labplane-sim --name web-arc"
         *       },
         *       "createdAt": "2026-12-07T03:03:46.000Z",
         *       "version": "135"
         *     }
         */
        Vm: {
            /**
             * Format: uuid
             * @description UUIDv5 of the tenant and name; unique across tenants.
             */
            id: string;
            tenant: string;
            name: string;
            /** @description Principal id of the owner. */
            owner: string;
            lab?: string;
            image: components["schemas"]["VmImageRef"];
            instanceType?: string;
            cpu: number;
            memoryGi: number;
            diskGi: number;
            /** @enum {string} */
            storageClass: "kv-premium-retain" | "kv-standard";
            /** @description Azure Arc onboarding requested. */
            arc: boolean;
            /** @description Whether the VM is asked to run (runStrategy is not Halted). */
            running: boolean;
            runStrategy: string;
            labels: {
                [key: string]: string;
            };
            state: components["schemas"]["VmState"];
            /** @description KubeVirt's reason for Error (e.g. ErrorUnschedulable, DataVolumeError). */
            reason?: string;
            message?: string;
            availableActions: ("start" | "stop" | "restart" | "migrate")[];
            liveMigratable: boolean;
            /** @description CPU or memory changed while running; the change applies at the next restart. */
            restartRequired: boolean;
            deleting: boolean;
            /** @description Not shown to tenant members. */
            nodeName?: string;
            migration?: components["schemas"]["VmMigration"];
            identity?: components["schemas"]["VmIdentity"];
            autoShutdown?: components["schemas"]["VmAutoShutdown"];
            /** Format: date-time */
            createdAt: string;
            version: string;
        };
        /**
         * @description Auto-shutdown of a VM with cost controls (a lab student's VM: its lab's; another VM: its tenant's), as the
         *     idle detector last saw it. Only on `GET` of one VM (lists leave it out: it costs a state read per VM);
         *     GraphQL's `Vm.autoShutdown` gives it anywhere, batched.
         */
        VmAutoShutdown: {
            /**
             * @description `unavailable`: the guest agent (in `lowUsage` mode also the usage figures) does not answer, or the VM is not running; a VM is never stopped for that.
             * @enum {string}
             */
            signals: "available" | "unavailable";
            /** @description Someone is logged in (in `lowUsage` mode */
            active: boolean;
            /** Format: date-time */
            idleSince?: string;
            /**
             * Format: date-time
             * @description When `vm.idle-warning` or `vm.quota-warning` was sent.
             */
            warnedAt?: string;
            /** @enum {string} */
            reason?: "AutoShutdown:Disconnect" | "AutoShutdown:NotConnected" | "AutoShutdown:Idle" | "UsageQuota:Exhausted";
            /**
             * Format: date-time
             * @description When the VM will be stopped unless someone uses it (or hours are added).
             */
            stopAt?: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "322e3d72-8a2b-54c8-bcb6-efbde4aa7fb0",
         *           "tenant": "cs101",
         *           "name": "cs101-fall-637a0224b2",
         *           "owner": "3f2b8c4e-9d1a-4e6b-8f0c-2a7d5e9b1c34",
         *           "lab": "cs101-fall",
         *           "image": {
         *             "scope": "platform",
         *             "name": "ubuntu-24-04"
         *           },
         *           "instanceType": "small",
         *           "cpu": 1,
         *           "memoryGi": 2,
         *           "diskGi": 10,
         *           "storageClass": "kv-standard",
         *           "arc": false,
         *           "running": false,
         *           "runStrategy": "Halted",
         *           "labels": {},
         *           "state": "Stopped",
         *           "availableActions": [
         *             "start"
         *           ],
         *           "liveMigratable": true,
         *           "restartRequired": false,
         *           "deleting": false,
         *           "createdAt": "2026-12-07T03:03:48.000Z",
         *           "version": "144"
         *         }
         *       ],
         *       "nextCursor": "eyJrIjoiY3MxMDEtZmFsbC02MzdhMDIyNGIyIn0"
         *     }
         */
        VmList: {
            items: components["schemas"]["Vm"][];
            nextCursor?: string;
        };
        /**
         * @description A VM to create. `sshPublicKeys` (at least one) is required unless `arc` is true: a VM onboarded to Azure
         *     Arc is reached by Azure AD sign-in (`az ssh arc`) and needs no key.
         * @example {
         *       "name": "web-1",
         *       "image": {
         *         "scope": "platform",
         *         "name": "ubuntu-24-04"
         *       },
         *       "instanceType": "small",
         *       "diskGi": 10,
         *       "storageClass": "kv-standard",
         *       "sshPublicKeys": [
         *         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGR6dYK9BcKE5W2qGawXRRmLe/sHrBFQiFySJlaMhDte alice@laptop"
         *       ],
         *       "labels": {
         *         "course": "cs101"
         *       }
         *     }
         */
        VmCreate: {
            /** @description A DNS label of at most 54 characters (Azure Arc's limit). */
            name: string;
            image: components["schemas"]["VmImageRef"];
            /** @description A name from /v1/instance-types; or give cpu and memoryGi. */
            instanceType?: string;
            cpu?: number;
            memoryGi?: number;
            /** @description At least the image's size. */
            diskGi: number;
            /** @enum {string} */
            storageClass: "kv-premium-retain" | "kv-standard";
            /** @description OpenSSH public keys put on the VM. Required (at least one) unless `arc` is true. */
            sshPublicKeys?: string[];
            /** @description Extra user-data (`#cloud-config` or a `#!` script), merged after the platform's. Kept in a Secret, never echoed back. */
            cloudInit?: string;
            /** @description Principal id; defaults to the caller. */
            owner?: string;
            lab?: string;
            labels?: {
                [key: string]: string;
            };
            /**
             * @description Onboard the VM to Azure Arc: its cloud-init gets a short-lived onboarding token (never shown), and once it
             *     runs an operation `vm.identity` (a child of `vm.create`) waits for the Arc machine to connect, scrubs the
             *     token, installs AADSSHLoginForLinux and grants the owner `administrator` (tenant owners) or `user`. The
             *     VM's `identity` section shows the progress and the command to connect.
             * @default false
             */
            arc?: boolean;
            /**
             * @description Start at once (runStrategy Always) or stay Halted.
             * @default true
             */
            running?: boolean;
        };
        /** @description Azure identity of a VM with Arc on (absent until onboarding starts). */
        VmIdentity: {
            arc: {
                /** @description Pending until the Arc machine appears, then Connected, Disconnected, Error or Unknown. */
                status: string;
                machineResourceId: string;
            };
            extension: {
                /** @description AADSSHLoginForLinux: NotStarted, InProgress, Succeeded or Failed. */
                state: string;
            };
            /** @description Connected */
            ready: boolean;
            /** @description The command to log in over Azure AD SSH (`az ssh arc ...`). */
            connectCommand?: string;
        };
        /**
         * @example {
         *       "role": "user",
         *       "principalType": "User"
         *     }
         */
        VmAccessGrant: {
            /**
             * @description `administrator`: Virtual Machine Administrator Login (sudo); `user`: Virtual Machine User Login.
             * @enum {string}
             */
            role: "administrator" | "user";
            /** @enum {string} */
            principalType: "User" | "Group";
        };
        /**
         * @example {
         *       "principalId": "ann",
         *       "role": "user",
         *       "principalType": "User"
         *     }
         */
        VmAccess: {
            principalId: string;
            principalType?: string;
            /** @enum {string} */
            role: "administrator" | "user";
        };
        /**
         * @example {
         *       "type": "vnc"
         *     }
         */
        ConsoleTicketRequest: {
            type: components["schemas"]["ConsoleType"];
        };
        /** @enum {string} */
        ConsoleType: "vnc" | "serial";
        /**
         * @example {
         *       "ticket": "Xq3c9VbN2mK7pLw4RtY8sZ1aDfG6hJ0kQeU5iO2nB7v",
         *       "type": "vnc",
         *       "expiresAt": "2026-09-01T10:16:00Z",
         *       "url": "https://labplane.example.edu/console/vnc#ticket=Xq3c9VbN2mK7pLw4RtY8sZ1aDfG6hJ0kQeU5iO2nB7v",
         *       "websocketPath": "/v1/console/Xq3c9VbN2mK7pLw4RtY8sZ1aDfG6hJ0kQeU5iO2nB7v"
         *     }
         */
        ConsoleTicket: {
            /** @description Single use; a credential: keep it out of logs. */
            ticket: string;
            type: components["schemas"]["ConsoleType"];
            /** Format: date-time */
            expiresAt: string;
            /** @description The console page with the ticket in its fragment (absolute with PUBLIC_URL, else from this origin). */
            url: string;
            /** @description The websocket to open on this origin, for clients of their own. */
            websocketPath: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "principalId": "alice",
         *           "role": "user",
         *           "principalType": "User"
         *         },
         *         {
         *           "principalId": "ann",
         *           "role": "user",
         *           "principalType": "User"
         *         }
         *       ]
         *     }
         */
        VmAccessList: {
            items: components["schemas"]["VmAccess"][];
            /** @description Present when there is a next page; pass it as `cursor`. */
            nextCursor?: string;
        };
        /**
         * @example {
         *       "instanceType": "medium"
         *     }
         */
        VmPatch: {
            instanceType?: string;
            cpu?: number;
            memoryGi?: number;
            running?: boolean;
        };
        Node: {
            name: string;
            ready: boolean;
            schedulable: boolean;
            zone?: string;
            instanceType?: string;
            /** @description Allocatable cores. */
            cpu: number;
            /** @description Allocatable memory. */
            memoryGi: number;
            /** @description VMs running on the node. */
            virtualMachines: number;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "name": "aks-kubevirt-0000",
         *           "ready": true,
         *           "schedulable": true,
         *           "cpu": 15.74,
         *           "memoryGi": 54.5,
         *           "virtualMachines": 1,
         *           "zone": "westeurope-1",
         *           "instanceType": "Standard_D16s_v5"
         *         },
         *         {
         *           "name": "aks-kubevirt-0001",
         *           "ready": true,
         *           "schedulable": true,
         *           "cpu": 15.74,
         *           "memoryGi": 54.5,
         *           "virtualMachines": 1,
         *           "zone": "westeurope-2",
         *           "instanceType": "Standard_D16s_v5"
         *         }
         *       ],
         *       "nextCursor": "eyJrIjoiYWtzLWt1YmV2aXJ0LTAwMDEifQ"
         *     }
         */
        NodeList: {
            items: components["schemas"]["Node"][];
            /** @description Present when there is a next page; pass it as `cursor`. */
            nextCursor?: string;
        };
        /**
         * @description `Provisioning` while any student is pending or provisioning, `Degraded` when none is but
         *     some failed, `Ready` when every student is ready, `Empty` with no students, `Ended` after
         *     the end of course, `Deleting` once deletion started.
         * @enum {string}
         */
        LabPhase: "Empty" | "Provisioning" | "Ready" | "Degraded" | "Ended" | "Deleting";
        /**
         * @description `pending`: on the roster, nothing created yet; `provisioning`: the VM (or its Azure identity
         *     and access) is being made; `ready`: usable; `failed`: the last provisioning failed (retry
         *     the student alone); `dropped`: no longer on the roster, VM stopped and access revoked,
         *     deleted at `deleteAfter`.
         * @enum {string}
         */
        StudentStatus: "pending" | "provisioning" | "ready" | "failed" | "dropped";
        /** @description A person of a lab, an Azure AD user; the id is the VM owner and the principal of role assignments. */
        LabPerson: {
            /** @description Azure AD object id (a GUID; stored in lower case). */
            id: string;
            /** Format: email */
            email?: string;
            displayName?: string;
            /** @description The LMS's id of this person (LTI `sub` / NRPS `user_id`), when the roster comes from an LMS. */
            lmsUserId?: string;
        };
        /**
         * @description A person of a lab, given by Azure AD object id (`id`), or by `email` alone: the address is
         *     resolved through the tenant's directory to exactly one user (else 422 `EMAIL_NOT_RESOLVED`,
         *     nothing written). With `id`, `email` is only informational.
         */
        LabPersonInput: {
            /** @description Azure AD object id (a GUID; stored in lower case). */
            id?: string;
            /** Format: email */
            email?: string;
            displayName?: string;
            /** @description The LMS's id of this person (LTI `sub` / NRPS `user_id`). */
            lmsUserId?: string;
        } | unknown | unknown;
        /** @description The LMS course (LTI context) the lab is bound to by Deep Linking; its roster follows the course (NRPS). */
        LabLtiBinding: {
            /** @description The tenant's LTI registration of the platform. */
            registrationId: string;
            deploymentId: string;
            /** @description The LTI context id (the course). */
            contextId: string;
            contextTitle?: string;
            /** @description The course's NRPS membership URL; absent: the LMS offered no roster service. */
            membershipsUrl?: string;
            /** Format: date-time */
            boundAt: string;
        };
        /** @description A course member who got no VM because no single directory user matched them. */
        LtiUnresolvedMember: {
            lmsUserId: string;
            email?: string;
            name?: string;
            /** @enum {string} */
            role: "student" | "instructor";
            /** @enum {string} */
            reason: "no-email" | "not-in-directory" | "ambiguous";
        };
        /** @description The last roster sync from the LMS course. */
        LtiSyncStatus: {
            /**
             * Format: date-time
             * @description When it ended.
             */
            at: string;
            /** @enum {string} */
            trigger: "schedule" | "launch" | "manual";
            /** @enum {string} */
            outcome: "succeeded" | "failed";
            /** @description From the error catalogue */
            code?: string;
            message?: string;
            operationId?: string;
            /** @description Active course members with a lab role. */
            members?: number;
            students?: number;
            instructors?: number;
            unresolved?: components["schemas"]["LtiUnresolvedMember"][];
        };
        /** @description The LMS course a lab belongs to (informational; filterable). */
        CourseRef: {
            /** @description e.g. canvas, moodle. */
            lms: string;
            courseId: string;
        };
        /**
         * @description A weekly window: VMs are started at `startTime` and stopped at `stopTime` (either may be
         *     absent: start-only or stop-only), on `days`, wall-clock in `timeZone`, from `startDate` to
         *     `endDate` inclusive (local dates).
         */
        LabSchedule: {
            /** @description Unique within the lab. */
            name: string;
            days: ("mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun")[];
            /** @description `HH:MM` (24 h) local time. */
            startTime?: string;
            /** @description `HH:MM` (24 h) local time. */
            stopTime?: string;
            /** @description IANA time zone, e.g. Europe/Berlin. */
            timeZone: string;
            /** Format: date */
            startDate?: string;
            /** Format: date */
            endDate?: string;
        };
        /** @description What every student VM is built from. Give `instanceType`, or `cpu` and `memoryGi`. */
        LabTemplateInput: {
            image: components["schemas"]["VmImageRef"];
            /** @description A name from /v1/instance-types. */
            instanceType?: string;
            cpu?: number;
            memoryGi?: number;
            /** @description At least the image's size. */
            diskGi: number;
            /** @enum {string} */
            storageClass: "kv-premium-retain" | "kv-standard";
            /** @description Onboard every VM to Azure Arc, install the SSH login extension and grant access (default false). */
            arc?: boolean;
            /**
             * @description What students get on their own VM (default `user`: SSH without sudo). Instructors always get `administrator`.
             * @enum {string}
             */
            studentRole?: "user" | "administrator";
            /** @description Public keys put on every VM (instructors' break-glass access). At least one is required unless `arc` is on (Azure AD sign-in). */
            sshPublicKeys?: string[];
        } & (unknown & unknown);
        /** @description What every student VM of a lab is built from. CPU in cores, memory and disk in GiB. */
        LabTemplate: {
            image: components["schemas"]["VmImageRef"];
            instanceType?: string;
            cpu: number;
            memoryGi: number;
            diskGi: number;
            /** @enum {string} */
            storageClass: "kv-premium-retain" | "kv-standard";
            arc: boolean;
            /** @enum {string} */
            studentRole: "user" | "administrator";
            sshPublicKeys: string[];
        };
        /**
         * @example {
         *       "name": "cs101-fall",
         *       "displayName": "CS 101, fall term",
         *       "template": {
         *         "image": {
         *           "scope": "platform",
         *           "name": "ubuntu-24-04"
         *         },
         *         "instanceType": "small",
         *         "diskGi": 10,
         *         "storageClass": "kv-standard",
         *         "sshPublicKeys": [
         *           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGR6dYK9BcKE5W2qGawXRRmLe/sHrBFQiFySJlaMhDte alice@laptop"
         *         ]
         *       },
         *       "instructors": [
         *         {
         *           "id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
         *           "displayName": "Prof. Olga Petrova"
         *         }
         *       ],
         *       "students": [
         *         {
         *           "id": "3f2b8c4e-9d1a-4e6b-8f0c-2a7d5e9b1c34",
         *           "email": "ann.lee@uni.example.edu",
         *           "displayName": "Ann Lee"
         *         },
         *         {
         *           "id": "7a9e1d2c-5b4f-4c3a-9e8d-1f0b6a2c7d45",
         *           "email": "ben.okafor@uni.example.edu",
         *           "displayName": "Ben Okafor"
         *         }
         *       ],
         *       "schedules": [
         *         {
         *           "name": "tuesday-class",
         *           "days": [
         *             "tue"
         *           ],
         *           "startTime": "09:00",
         *           "stopTime": "11:00",
         *           "timeZone": "Europe/Berlin"
         *         }
         *       ]
         *     }
         */
        LabCreate: {
            /** @description A DNS label of at most 40 characters (student VM names add 11 and stay within Azure Arc's 54). */
            name: string;
            displayName?: string;
            course?: components["schemas"]["CourseRef"];
            template: components["schemas"]["LabTemplateInput"];
            /** @description Get `administrator` on every VM of the lab. */
            instructors?: components["schemas"]["LabPersonInput"][];
            /** @description The roster, one VM each; ids are unique. */
            students?: components["schemas"]["LabPersonInput"][];
            schedules?: components["schemas"]["LabSchedule"][];
            /**
             * Format: date-time
             * @description End of course (with offset): VMs are stopped then, removed `endGracePeriodDays` later.
             */
            endsAt?: string;
            /** @description A dropped student's VM is deleted this many hours after the drop (default 72; 0: at once). */
            dropGracePeriodHours?: number;
            /** @description VMs are deleted this many days after `endsAt` (default 14). */
            endGracePeriodDays?: number;
            costControls?: components["schemas"]["LabCostControlsInput"];
        };
        /**
         * @description Absent fields stay; `null` clears an optional one. The template applies to VMs created from now on.
         * @example {
         *       "displayName": "CS 101, fall term (section B)",
         *       "dropGracePeriodHours": 48
         *     }
         */
        LabPatch: {
            displayName?: string | null;
            course?: components["schemas"]["CourseRef"] | null;
            template?: components["schemas"]["LabTemplateInput"];
            instructors?: components["schemas"]["LabPersonInput"][];
            schedules?: components["schemas"]["LabSchedule"][];
            /** Format: date-time */
            endsAt?: string | null;
            dropGracePeriodHours?: number;
            endGracePeriodDays?: number;
            costControls?: components["schemas"]["LabCostControlsInput"];
        };
        /**
         * @example {
         *       "students": [
         *         {
         *           "id": "3f2b8c4e-9d1a-4e6b-8f0c-2a7d5e9b1c34",
         *           "email": "ann.lee@uni.example.edu",
         *           "displayName": "Ann Lee"
         *         },
         *         {
         *           "id": "7a9e1d2c-5b4f-4c3a-9e8d-1f0b6a2c7d45",
         *           "email": "ben.okafor@uni.example.edu",
         *           "displayName": "Ben Okafor"
         *         }
         *       ]
         *     }
         */
        LabRoster: {
            /** @description The whole roster (ids unique); students not in it are dropped. */
            students: components["schemas"]["LabPersonInput"][];
        };
        /**
         * @description Lab-wide counts by student status. Every student listed by `GET .../students` is counted once in its
         *     status and once in `total`, so `total = pending + provisioning + ready + failed + dropped`; the students
         *     on the roster are `total - dropped` (dropped students keep their VM through the drop grace period).
         */
        LabSummary: {
            /** @description Every student listed, dropped ones included: the sum of the other counts. */
            total: number;
            pending: number;
            provisioning: number;
            ready: number;
            failed: number;
            dropped: number;
        };
        /**
         * @example {
         *       "tenant": "cs101",
         *       "name": "cs101-fall",
         *       "template": {
         *         "image": {
         *           "scope": "platform",
         *           "name": "ubuntu-24-04"
         *         },
         *         "cpu": 1,
         *         "memoryGi": 2,
         *         "diskGi": 10,
         *         "storageClass": "kv-standard",
         *         "arc": false,
         *         "studentRole": "user",
         *         "sshPublicKeys": [
         *           "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGR6dYK9BcKE5W2qGawXRRmLe/sHrBFQiFySJlaMhDte alice@laptop"
         *         ],
         *         "instanceType": "small"
         *       },
         *       "instructors": [
         *         {
         *           "id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
         *           "displayName": "Prof. Olga Petrova"
         *         }
         *       ],
         *       "schedules": [
         *         {
         *           "name": "tuesday-class",
         *           "days": [
         *             "tue"
         *           ],
         *           "timeZone": "Europe/Berlin",
         *           "startTime": "09:00",
         *           "stopTime": "11:00"
         *         }
         *       ],
         *       "dropGracePeriodHours": 72,
         *       "endGracePeriodDays": 14,
         *       "createdAt": "2026-12-07T03:03:48.000Z",
         *       "version": "140",
         *       "phase": "Ready",
         *       "summary": {
         *         "total": 2,
         *         "pending": 0,
         *         "provisioning": 0,
         *         "ready": 2,
         *         "failed": 0,
         *         "dropped": 0
         *       },
         *       "displayName": "CS 101, fall term",
         *       "lastOperationId": "045ba68b-7925-40c8-a8d5-7a5107ea4aa2",
         *       "nextScheduledEvent": {
         *         "action": "start",
         *         "at": "2026-12-08T08:00:00.000Z"
         *       },
         *       "costControls": {
         *         "autoShutdown": {
         *           "shutdownOnDisconnect": {
         *             "enabled": true,
         *             "delay": "PT15M"
         *           },
         *           "shutdownWhenNotConnected": {
         *             "enabled": true,
         *             "delay": "PT15M"
         *           },
         *           "shutdownOnIdle": {
         *             "mode": "userAbsence",
         *             "delay": "PT15M"
         *           }
         *         },
         *         "warningPeriod": "PT5M",
         *         "exemptClassHours": true,
         *         "addedHours": {}
         *       }
         *     }
         */
        Lab: {
            tenant: string;
            name: string;
            displayName?: string;
            course?: components["schemas"]["CourseRef"];
            template: components["schemas"]["LabTemplate"];
            instructors: components["schemas"]["LabPerson"][];
            schedules: components["schemas"]["LabSchedule"][];
            /** Format: date-time */
            endsAt?: string;
            dropGracePeriodHours: number;
            endGracePeriodDays: number;
            /** Format: date-time */
            createdAt: string;
            /** @description Opaque; the ETag. */
            version: string;
            phase: components["schemas"]["LabPhase"];
            summary: components["schemas"]["LabSummary"];
            /** @description The latest sync (create */
            lastOperationId?: string;
            /** @description The next schedule action due, if any. */
            nextScheduledEvent?: {
                /** @enum {string} */
                action: "start" | "stop" | "end" | "remove";
                /** Format: date-time */
                at: string;
            };
            lti?: components["schemas"]["LabLtiBinding"];
            ltiSync?: components["schemas"]["LtiSyncStatus"];
            costControls?: components["schemas"]["LabCostControls"];
        };
        DelayedShutdown: {
            enabled: boolean;
            /** @description ISO 8601 duration, 5 minutes to 24 hours (e.g. `PT15M`; no years or months). */
            delay: string;
        };
        /**
         * @description When a running VM is stopped for lack of use (Azure Lab Services' three settings):
         *     `shutdownOnDisconnect` once the last session ended and none came back within `delay`;
         *     `shutdownWhenNotConnected` when a started VM saw no connection within `delay`;
         *     `shutdownOnIdle` after `delay` without input (`userAbsence`) or with no session activity and
         *     CPU, network and disk below `thresholds` (`lowUsage`). Always complete when given.
         * @example {
         *       "shutdownOnDisconnect": {
         *         "enabled": true,
         *         "delay": "PT15M"
         *       },
         *       "shutdownWhenNotConnected": {
         *         "enabled": true,
         *         "delay": "PT15M"
         *       },
         *       "shutdownOnIdle": {
         *         "mode": "userAbsence",
         *         "delay": "PT15M"
         *       }
         *     }
         */
        AutoShutdownProfile: {
            shutdownOnDisconnect: components["schemas"]["DelayedShutdown"];
            shutdownWhenNotConnected: components["schemas"]["DelayedShutdown"];
            shutdownOnIdle: {
                /** @enum {string} */
                mode: "none" | "userAbsence" | "lowUsage";
                /** @description ISO 8601 duration */
                delay: string;
                /** @description `lowUsage` only (default 0.1 core, 10 000 B/s of network, 100 000 B/s of disk). */
                thresholds?: {
                    cpuCores: number;
                    networkBytesPerSecond: number;
                    diskBytesPerSecond: number;
                };
            };
        };
        /**
         * @description A tenant's default auto-shutdown for its VMs outside labs.
         * @example {
         *       "autoShutdown": {
         *         "shutdownOnDisconnect": {
         *           "enabled": true,
         *           "delay": "PT15M"
         *         },
         *         "shutdownWhenNotConnected": {
         *           "enabled": false,
         *           "delay": "PT30M"
         *         },
         *         "shutdownOnIdle": {
         *           "mode": "lowUsage",
         *           "delay": "PT1H",
         *           "thresholds": {
         *             "cpuCores": 0.2,
         *             "networkBytesPerSecond": 20000,
         *             "diskBytesPerSecond": 100000
         *           }
         *         }
         *       },
         *       "warningPeriod": "PT5M"
         *     }
         */
        CostControls: {
            autoShutdown: components["schemas"]["AutoShutdownProfile"];
            /** @description ISO 8601 duration between the warning webhook (`vm.idle-warning`, `vm.quota-warning`) and the stop, 0 to 1 hour. */
            warningPeriod: string;
        };
        /**
         * @description A tenant's cost controls as given; absent parts take the defaults (create) or stay (PATCH).
         * @example {
         *       "warningPeriod": "PT10M"
         *     }
         */
        CostControlsInput: {
            autoShutdown?: components["schemas"]["AutoShutdownProfile"];
            /** @description ISO 8601 duration */
            warningPeriod?: string;
        };
        /**
         * @description A lab's cost controls (a new lab gets Azure Lab Services' defaults, all three auto-shutdown settings on).
         * @example {
         *       "autoShutdown": {
         *         "shutdownOnDisconnect": {
         *           "enabled": true,
         *           "delay": "PT15M"
         *         },
         *         "shutdownWhenNotConnected": {
         *           "enabled": true,
         *           "delay": "PT15M"
         *         },
         *         "shutdownOnIdle": {
         *           "mode": "userAbsence",
         *           "delay": "PT15M"
         *         }
         *       },
         *       "warningPeriod": "PT5M",
         *       "exemptClassHours": true,
         *       "usageQuotaHours": 10,
         *       "addedHours": {
         *         "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f": 2.5
         *       }
         *     }
         */
        LabCostControls: {
            autoShutdown: components["schemas"]["AutoShutdownProfile"];
            /** @description ISO 8601 duration between the warning webhook and the stop */
            warningPeriod: string;
            /** @description Auto-shutdown does not act during the lab's scheduled class hours. */
            exemptClassHours: boolean;
            /** @description Hours each student's VM may run outside class hours (quarters of an hour); absent: no quota. */
            usageQuotaHours?: number;
            /** @description Student id to the hours instructors added beyond the quota (read-only here: `POST …/students/{student}/usage-hours`). */
            addedHours: {
                [key: string]: number;
            };
        };
        /**
         * @description A lab's cost controls as given: on create, absent parts take the defaults; on PATCH, the given
         *     parts change and the others stay (`usageQuotaHours: null` removes the quota). `addedHours` is
         *     not accepted here.
         * @example {
         *       "usageQuotaHours": 10,
         *       "warningPeriod": "PT10M"
         *     }
         */
        LabCostControlsInput: {
            autoShutdown?: components["schemas"]["AutoShutdownProfile"];
            /** @description ISO 8601 duration */
            warningPeriod?: string;
            exemptClassHours?: boolean;
            /** @description Hours from 0 to 2000 in quarters of an hour; `null` (PATCH only) removes the quota. */
            usageQuotaHours?: number | null;
        };
        UsageHoursAdd: {
            /** @description Whole quarters of an hour, not 0; negative takes hours back (the total stays within 0..2000). */
            hours: number;
        };
        UsageHoursAdded: {
            /** @description The student's Azure AD object id. */
            student: string;
            /** @description The hours the student now has beyond the quota. */
            addedHours: number;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "tenant": "cs101",
         *           "name": "cs101-fall",
         *           "template": {
         *             "image": {
         *               "scope": "platform",
         *               "name": "ubuntu-24-04"
         *             },
         *             "cpu": 1,
         *             "memoryGi": 2,
         *             "diskGi": 10,
         *             "storageClass": "kv-standard",
         *             "arc": false,
         *             "studentRole": "user",
         *             "sshPublicKeys": [
         *               "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGR6dYK9BcKE5W2qGawXRRmLe/sHrBFQiFySJlaMhDte alice@laptop"
         *             ],
         *             "instanceType": "small"
         *           },
         *           "instructors": [
         *             {
         *               "id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
         *               "displayName": "Prof. Olga Petrova"
         *             }
         *           ],
         *           "schedules": [
         *             {
         *               "name": "tuesday-class",
         *               "days": [
         *                 "tue"
         *               ],
         *               "timeZone": "Europe/Berlin",
         *               "startTime": "09:00",
         *               "stopTime": "11:00"
         *             }
         *           ],
         *           "dropGracePeriodHours": 72,
         *           "endGracePeriodDays": 14,
         *           "createdAt": "2026-12-07T03:03:48.000Z",
         *           "version": "140",
         *           "phase": "Ready",
         *           "summary": {
         *             "total": 2,
         *             "pending": 0,
         *             "provisioning": 0,
         *             "ready": 2,
         *             "failed": 0,
         *             "dropped": 0
         *           },
         *           "displayName": "CS 101, fall term",
         *           "lastOperationId": "045ba68b-7925-40c8-a8d5-7a5107ea4aa2",
         *           "nextScheduledEvent": {
         *             "action": "start",
         *             "at": "2026-12-08T08:00:00.000Z"
         *           },
         *           "costControls": {
         *             "autoShutdown": {
         *               "shutdownOnDisconnect": {
         *                 "enabled": true,
         *                 "delay": "PT15M"
         *               },
         *               "shutdownWhenNotConnected": {
         *                 "enabled": true,
         *                 "delay": "PT15M"
         *               },
         *               "shutdownOnIdle": {
         *                 "mode": "userAbsence",
         *                 "delay": "PT15M"
         *               }
         *             },
         *             "warningPeriod": "PT5M",
         *             "exemptClassHours": true,
         *             "addedHours": {}
         *           }
         *         }
         *       ]
         *     }
         */
        LabList: {
            items: components["schemas"]["Lab"][];
            nextCursor?: string;
        };
        Student: {
            id: string;
            email?: string;
            displayName?: string;
            /** @description The LMS's id of the student, when the roster comes from an LMS. */
            lmsUserId?: string;
            status: components["schemas"]["StudentStatus"];
            /** @description The student's VM name (the same for every retry). */
            vm: string;
            vmState?: components["schemas"]["VmState"];
            /** @description With Arc on: connected, extension installed and access granted. */
            identityReady?: boolean;
            /** @description Stable code of the last failure. */
            code?: string;
            reason?: string;
            operationId?: string;
            /**
             * Format: date-time
             * @description Dropped students: when the VM will be deleted.
             */
            deleteAfter?: string;
        };
        /**
         * @description A lab's usage report (hours rounded down to the hundredth).
         * @example {
         *       "tenant": "cs101",
         *       "lab": "cs101-fall",
         *       "at": "2026-12-07T03:03:51.297Z",
         *       "students": [
         *         {
         *           "student": {
         *             "id": "3f2b8c4e-9d1a-4e6b-8f0c-2a7d5e9b1c34",
         *             "email": "ann.lee@uni.example.edu",
         *             "displayName": "Ann Lee"
         *           },
         *           "vm": "cs101-fall-637a0224b2",
         *           "usedHours": 0,
         *           "addedHours": 0,
         *           "exhausted": false
         *         },
         *         {
         *           "student": {
         *             "id": "7a9e1d2c-5b4f-4c3a-9e8d-1f0b6a2c7d45",
         *             "email": "ben.okafor@uni.example.edu",
         *             "displayName": "Ben Okafor"
         *           },
         *           "vm": "cs101-fall-e577e8faf3",
         *           "usedHours": 0,
         *           "addedHours": 0,
         *           "exhausted": false
         *         }
         *       ]
         *     }
         */
        LabUsage: {
            tenant: string;
            lab: string;
            /**
             * Format: date-time
             * @description When the figures were computed.
             */
            at: string;
            /** @description The lab's quota per student; absent when it sets none. */
            quotaHours?: number;
            /** @description The roster's students, sorted by id. */
            students: components["schemas"]["StudentUsage"][];
        };
        StudentUsage: {
            student: {
                id: string;
                email?: string;
                displayName?: string;
            };
            /** @description The student's VM (it keeps its name when rebuilt */
            vm: string;
            /** @description Hours the VM ran outside class hours. */
            usedHours: number;
            quotaHours?: number;
            /** @description Hours instructors added for this student. */
            addedHours: number;
            /** @description quotaHours + addedHours - usedHours, never below 0; absent without a quota. */
            leftHours?: number;
            /** @description The student's own starts are refused (409 `USAGE_QUOTA_EXHAUSTED`). */
            exhausted: boolean;
            /**
             * Format: date-time
             * @description When the VM started
             */
            runningSince?: string;
            /**
             * Format: date-time
             * @description When the quota runs out if the VM keeps running (class hours skipped).
             */
            exhaustsAt?: string;
        };
        /**
         * @example {
         *       "tenant": "cs101",
         *       "at": "2026-12-07T03:03:51.303Z",
         *       "labs": [
         *         {
         *           "lab": "cs101-fall",
         *           "students": 2,
         *           "usedHours": 0,
         *           "exhaustedStudents": 0
         *         }
         *       ],
         *       "otherVms": {
         *         "vms": 2,
         *         "usedHours": 0
         *       }
         *     }
         */
        TenantUsage: {
            tenant: string;
            /** Format: date-time */
            at: string;
            /** @description Sorted by name. */
            labs: {
                lab: string;
                students: number;
                /** @description Hours used by the lab's students (outside class hours). */
                usedHours: number;
                quotaHours?: number;
                exhaustedStudents: number;
            }[];
            /** @description VMs outside labs (no class hours, no quota). */
            otherVms: {
                vms: number;
                usedHours: number;
            };
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "3f2b8c4e-9d1a-4e6b-8f0c-2a7d5e9b1c34",
         *           "status": "ready",
         *           "vm": "cs101-fall-637a0224b2",
         *           "email": "ann.lee@uni.example.edu",
         *           "displayName": "Ann Lee",
         *           "vmState": "Stopped"
         *         }
         *       ],
         *       "nextCursor": "eyJrIjoiM2YyYjhjNGUtOWQxYS00ZTZiLThmMGMtMmE3ZDVlOWIxYzM0In0"
         *     }
         */
        StudentList: {
            items: components["schemas"]["Student"][];
            nextCursor?: string;
        };
        /** @description What a roster sync changes, by student id (sorted). */
        RosterDiff: {
            added: string[];
            removed: string[];
            /** @description Same student with another email or display name (no VM change). */
            updated: string[];
            unchanged: number;
        };
        /**
         * @example {
         *       "operation": {
         *         "id": "045ba68b-7925-40c8-a8d5-7a5107ea4aa2",
         *         "kind": "lab.sync",
         *         "target": {
         *           "type": "lab",
         *           "id": "cs101/cs101-fall",
         *           "name": "cs101-fall"
         *         },
         *         "status": "queued",
         *         "progress": {
         *           "percent": 0,
         *           "step": "dispatch"
         *         },
         *         "attempts": 0,
         *         "createdAt": "2026-12-07T03:03:50.891Z",
         *         "updatedAt": "2026-12-07T03:03:50.891Z",
         *         "createdBy": "alice",
         *         "cancelRequested": false,
         *         "tenant": "cs101"
         *       },
         *       "diff": {
         *         "added": [],
         *         "removed": [],
         *         "updated": [],
         *         "unchanged": 2
         *       }
         *     }
         */
        RosterSyncAccepted: {
            operation: components["schemas"]["Operation"];
            diff: components["schemas"]["RosterDiff"];
        };
        /**
         * @description Event types a webhook subscribes to; each one's body is described under `webhooks` in this
         *     contract. `operation.succeeded` / `operation.failed`: an operation a client started (no
         *     `parentId`) finished; `vm.ready`: a VM is running (and, with Azure Arc, its identity is set up);
         *     `vm.snapshot-ready`: a snapshot of a VM is ready to use (its `vm.snapshot` operation succeeded);
         *     `lab.ready`: every VM of a lab is ready; `lab.roster-synced`: a roster change was applied;
         *     `vm.idle-warning`: a running VM is idle (disconnected, never connected to, or idle) and will be
         *     stopped at `stopAt` unless someone uses it; `vm.quota-warning`: a lab student's VM has used up
         *     (or is about to use up) the student's hours and will be stopped at `stopAt`; `vm.auto-shutdown`:
         *     such a stop was started (`vm.stop`, with the reason). `lab.template-published`: a lab's
         *     template VM was published and the lab's template image is the new version.
         *     `webhook.disabled`: another webhook of the tenant was disabled because its receiver kept failing.
         * @enum {string}
         */
        WebhookEventType: "operation.succeeded" | "operation.failed" | "vm.ready" | "vm.snapshot-ready" | "lab.ready" | "lab.roster-synced" | "vm.idle-warning" | "vm.quota-warning" | "vm.auto-shutdown" | "lab.template-published" | "webhook.disabled";
        /**
         * @description What a delivery carries; `webhook.ping` (sent on request to one webhook) is not subscribed to.
         * @enum {string}
         */
        WebhookDeliveredEventType: "operation.succeeded" | "operation.failed" | "vm.ready" | "vm.snapshot-ready" | "lab.ready" | "lab.roster-synced" | "vm.idle-warning" | "vm.quota-warning" | "vm.auto-shutdown" | "lab.template-published" | "webhook.disabled" | "webhook.ping";
        /**
         * @description `disabled`: nothing is delivered (but pings), after the receiver failed for `WEBHOOK_DISABLE_AFTER_HOURS` or on request; `PATCH` with `status: active` re-enables it.
         * @enum {string}
         */
        WebhookStatus: "active" | "disabled";
        /**
         * @example {
         *       "url": "https://images.example.org/hooks/labplane",
         *       "events": [
         *         "vm.ready",
         *         "lab.ready"
         *       ],
         *       "description": "Course portal"
         *     }
         */
        WebhookCreate: {
            /** @description https:// (http:// only for allow-listed hosts). */
            url: string;
            events: components["schemas"]["WebhookEventType"][];
            description?: string;
        };
        /**
         * @description What changes; absent fields stay.
         * @example {
         *       "events": [
         *         "vm.ready",
         *         "lab.ready",
         *         "operation.failed"
         *       ],
         *       "description": "Course portal and alerts"
         *     }
         */
        WebhookUpdate: {
            /** @description https:// (http:// only for allow-listed hosts). */
            url?: string;
            events?: components["schemas"]["WebhookEventType"][];
            /** @description `null` or `""` removes it. */
            description?: string | null;
            status?: components["schemas"]["WebhookStatus"];
        };
        /**
         * @example {
         *       "overlapHours": 24
         *     }
         */
        WebhookSecretRotation: {
            /** @description How long the replaced secret keeps signing beside the new one (default `WEBHOOK_SECRET_OVERLAP_HOURS`, 24); 0 stops it at once. */
            overlapHours?: number;
        };
        /**
         * @example {
         *       "id": "3a3f81e7-985e-41cf-a368-80d1a9863269",
         *       "tenant": "cs101",
         *       "url": "https://images.example.org/hooks/labplane",
         *       "events": [
         *         "vm.ready",
         *         "lab.ready"
         *       ],
         *       "createdAt": "2026-12-07T03:03:50.939Z",
         *       "createdBy": "alice",
         *       "version": "1",
         *       "status": "active",
         *       "description": "Course portal"
         *     }
         */
        Webhook: {
            /** Format: uuid */
            id: string;
            tenant: string;
            url: string;
            events: components["schemas"]["WebhookEventType"][];
            description?: string;
            /** Format: date-time */
            createdAt: string;
            createdBy: string;
            /** @description Opaque; the ETag. */
            version: string;
            status: components["schemas"]["WebhookStatus"];
            /**
             * Format: date-time
             * @description When it was disabled (`disabled` only).
             */
            disabledAt?: string;
            /**
             * @description `receiver-failing`: automatically; `requested`: by a PATCH.
             * @enum {string}
             */
            disabledReason?: "receiver-failing" | "requested";
            /**
             * Format: date-time
             * @description Since when every delivery attempt failed (absent while the receiver answers 2xx).
             */
            failingSince?: string;
            /** Format: date-time */
            secretRotatedAt?: string;
            /**
             * Format: date-time
             * @description Until when the secret the last rotation replaced still signs deliveries too.
             */
            previousSecretExpiresAt?: string;
        };
        /**
         * @description The webhook and its (new) signing secret (`whsec_` + base64 of 32 random bytes), shown this
         *     once. It is not kept with the idempotent answer of a create: a replay of the request (same
         *     Idempotency-Key) answers without `secret`; rotate the secret if the first answer was lost.
         * @example {
         *       "id": "3a3f81e7-985e-41cf-a368-80d1a9863269",
         *       "tenant": "cs101",
         *       "url": "https://images.example.org/hooks/labplane",
         *       "events": [
         *         "vm.ready",
         *         "lab.ready"
         *       ],
         *       "createdAt": "2026-12-07T03:03:50.939Z",
         *       "createdBy": "alice",
         *       "version": "1",
         *       "status": "active",
         *       "description": "Course portal",
         *       "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
         *     }
         */
        WebhookCreated: components["schemas"]["Webhook"] & {
            secret?: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "3a3f81e7-985e-41cf-a368-80d1a9863269",
         *           "tenant": "cs101",
         *           "url": "https://images.example.org/hooks/labplane",
         *           "events": [
         *             "vm.ready",
         *             "lab.ready"
         *           ],
         *           "createdAt": "2026-12-07T03:03:50.939Z",
         *           "createdBy": "alice",
         *           "version": "1",
         *           "status": "active",
         *           "description": "Course portal"
         *         }
         *       ]
         *     }
         */
        WebhookList: {
            items: components["schemas"]["Webhook"][];
            nextCursor?: string;
        };
        /** @enum {string} */
        WebhookDeliveryStatus: "pending" | "succeeded" | "failed" | "retrying";
        /**
         * @example {
         *       "id": "0d9e4c1a-6b7f-4e2d-9a31-5c8b2f7e4d10",
         *       "webhookId": "3a3f81e7-985e-41cf-a368-80d1a9863269",
         *       "eventId": "ping.6f1c2b9e-8d4a-4c3e-b5a7-1e2f3d4c5b6a",
         *       "eventType": "webhook.ping",
         *       "status": "pending",
         *       "attempts": 0,
         *       "createdAt": "2026-12-07T03:10:00.000Z"
         *     }
         */
        WebhookDelivery: {
            /** Format: uuid */
            id: string;
            /** Format: uuid */
            webhookId: string;
            /** @description The event (`<operationId>.<type>`), also the `webhook-id` header. */
            eventId: string;
            eventType: components["schemas"]["WebhookDeliveredEventType"];
            /**
             * Format: uuid
             * @description The delivery this one sends again.
             */
            redeliveryOf?: string;
            status: components["schemas"]["WebhookDeliveryStatus"];
            attempts: number;
            /** Format: date-time */
            lastAttemptAt?: string;
            /** Format: date-time */
            nextAttemptAt?: string;
            /** @description HTTP status of the last answer. */
            responseStatus?: number;
            /** @description Why the last attempt failed. */
            lastError?: string;
            /** Format: date-time */
            createdAt: string;
        };
        /**
         * @example {
         *       "items": []
         *     }
         */
        WebhookDeliveryList: {
            items: components["schemas"]["WebhookDelivery"][];
            nextCursor?: string;
        };
        /** @description The body of every delivery (Standard Webhooks); `data` depends on `type`. */
        WebhookEventBase: {
            /** @description The event id, also the `webhook-id` header (the same on every retry and redelivery): dedupe on it. */
            id: string;
            type: components["schemas"]["WebhookDeliveredEventType"];
            /**
             * Format: date-time
             * @description When it happened (an operation's end
             */
            timestamp: string;
            tenant: string;
            data: Record<string, never>;
        };
        OperationSucceededEvent: {
            id?: string;
            /** @constant */
            type?: "operation.succeeded";
            timestamp?: unknown;
            tenant?: unknown;
            /** @description The operation (`status: succeeded`). */
            data?: components["schemas"]["Operation"];
        } & components["schemas"]["WebhookEventBase"];
        OperationFailedEvent: {
            id?: string;
            /** @constant */
            type?: "operation.failed";
            timestamp?: unknown;
            tenant?: unknown;
            /** @description The operation (`status: failed`, with `error`). */
            data?: components["schemas"]["Operation"];
        } & components["schemas"]["WebhookEventBase"];
        VmReadyEvent: {
            id?: unknown;
            /** @constant */
            type?: "vm.ready";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                /** @description The VM's name. */
                vm?: string;
                /** @description The lab of a student's VM. */
                lab?: string;
                ownerId?: string;
                /** @description The `vm.create` (or `vm.identity`) operation. */
                operationId: string;
            };
        } & components["schemas"]["WebhookEventBase"];
        VmSnapshotReadyEvent: {
            id?: unknown;
            /** @constant */
            type?: "vm.snapshot-ready";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                vm?: string;
                /** @description The snapshot's name. */
                snapshot?: string;
                /** @description The VM was running when it was taken. */
                online?: boolean;
                indications?: ("Online" | "GuestAgent" | "NoGuestAgent")[];
                ownerId?: string;
                /** @description The `vm.snapshot` operation. */
                operationId: string;
            };
        } & components["schemas"]["WebhookEventBase"];
        LabReadyEvent: {
            id?: unknown;
            /** @constant */
            type?: "lab.ready";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                lab: string;
                summary: components["schemas"]["LabSummary"];
                /** @description The `lab.sync` operation. */
                operationId: string;
            };
        } & components["schemas"]["WebhookEventBase"];
        LabRosterSyncedEvent: {
            id?: unknown;
            /** @constant */
            type?: "lab.roster-synced";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                lab: string;
                diff?: components["schemas"]["RosterDiff"];
                summary: components["schemas"]["LabSummary"];
                /** @description Students whose VM failed (at most 50). */
                failed: {
                    student: string;
                    code: string;
                    reason: string;
                }[];
                /** @description The `lab.sync` operation. */
                operationId: string;
            };
        } & components["schemas"]["WebhookEventBase"];
        LabTemplatePublishedEvent: {
            id?: unknown;
            /** @constant */
            type?: "lab.template-published";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                lab: string;
                /** @description The template VM published. */
                vm: string;
                image: {
                    /** @constant */
                    scope: "tenant";
                    name: string;
                };
                /** @description The image version published. */
                version?: number;
                /** @description The `lab.template-publish` operation. */
                operationId: string;
            };
        } & components["schemas"]["WebhookEventBase"];
        /** @description What the idle detector says of a VM it warns about or stops. */
        VmShutdownNoticeData: {
            tenant: string;
            vm: string;
            /** @description The lab of a student's VM (its cost controls applied). */
            lab?: string;
            ownerId: string;
            /** @enum {string} */
            reason: "AutoShutdown:Disconnect" | "AutoShutdown:NotConnected" | "AutoShutdown:Idle" | "UsageQuota:Exhausted";
            /** Format: date-time */
            warnedAt?: string;
            /**
             * Format: date-time
             * @description When the VM is (or was to be) stopped.
             */
            stopAt?: string;
        };
        VmIdleWarningEvent: {
            id?: unknown;
            /** @constant */
            type?: "vm.idle-warning";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                /** @enum {unknown} */
                reason?: "AutoShutdown:Disconnect" | "AutoShutdown:NotConnected" | "AutoShutdown:Idle";
            } & WithRequired<components["schemas"]["VmShutdownNoticeData"], "warnedAt" | "stopAt">;
        } & components["schemas"]["WebhookEventBase"];
        VmQuotaWarningEvent: {
            id?: unknown;
            /** @constant */
            type?: "vm.quota-warning";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                /** @constant */
                reason?: "UsageQuota:Exhausted";
                /** @description Hours the student has used. */
                usedHours: number;
                /** @description Hours left (0 once used up). */
                leftHours: number;
            } & WithRequired<components["schemas"]["VmShutdownNoticeData"], "lab" | "warnedAt" | "stopAt">;
        } & components["schemas"]["WebhookEventBase"];
        VmAutoShutdownEvent: {
            id?: unknown;
            /** @constant */
            type?: "vm.auto-shutdown";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                /** @description The `vm.stop` operation started. */
                operationId: string;
            } & components["schemas"]["VmShutdownNoticeData"];
        } & components["schemas"]["WebhookEventBase"];
        WebhookDisabledEvent: {
            id?: unknown;
            /** @constant */
            type?: "webhook.disabled";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                /**
                 * Format: uuid
                 * @description The webhook disabled (not this one).
                 */
                webhookId: string;
                /** @description Its description. */
                description?: string;
                /**
                 * Format: date-time
                 * @description Since when its receiver failed.
                 */
                failingSince?: string;
                /** Format: date-time */
                disabledAt: string;
                /** @constant */
                reason: "receiver-failing";
            };
        } & components["schemas"]["WebhookEventBase"];
        WebhookPingEvent: {
            id?: string;
            /** @constant */
            type?: "webhook.ping";
            timestamp?: unknown;
            tenant?: unknown;
            data?: {
                tenant: string;
                /**
                 * Format: uuid
                 * @description The webhook pinged (this one).
                 */
                webhookId: string;
            };
        } & components["schemas"]["WebhookEventBase"];
        /** @enum {string} */
        OperationStatus: "queued" | "running" | "succeeded" | "failed" | "canceled";
        /**
         * @example {
         *       "id": "41c7d1bf-6909-4102-b7c9-5657f6ef7c35",
         *       "kind": "vm.create",
         *       "target": {
         *         "type": "vm",
         *         "id": "cs101/web-1",
         *         "name": "web-1"
         *       },
         *       "status": "succeeded",
         *       "progress": {
         *         "percent": 100,
         *         "step": "wait"
         *       },
         *       "attempts": 1,
         *       "createdAt": "2026-12-07T03:03:43.277Z",
         *       "updatedAt": "2026-12-07T03:03:45.973Z",
         *       "createdBy": "alice",
         *       "cancelRequested": false,
         *       "tenant": "cs101",
         *       "startedAt": "2026-12-07T03:03:43.279Z",
         *       "finishedAt": "2026-12-07T03:03:45.973Z",
         *       "result": {
         *         "tenant": "cs101",
         *         "name": "web-1",
         *         "id": "9e814d26-cafb-5823-822e-6adbbc1dacf0",
         *         "state": "Running"
         *       }
         *     }
         */
        Operation: {
            id: string;
            /** @description e.g. tenant.delete, image.import, vm.create, arc.onboard */
            kind: string;
            tenant?: string;
            target: {
                type: string;
                id: string;
                name?: string;
            };
            status: components["schemas"]["OperationStatus"];
            progress: {
                percent: number;
                step?: string;
            };
            /** @description Attempt of the current step (retries and crash re-runs add one). */
            attempts: number;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** Format: date-time */
            startedAt?: string;
            /** Format: date-time */
            finishedAt?: string;
            result?: {
                [key: string]: unknown;
            };
            error?: components["schemas"]["Problem"];
            createdBy: string;
            parentId?: string;
            cancelRequested: boolean;
            /** @description The W3C trace id of the request that started the operation (while tracing is on); its job steps, Kubernetes requests and ARM calls are in that trace. */
            traceId?: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "045ba68b-7925-40c8-a8d5-7a5107ea4aa2",
         *           "kind": "lab.sync",
         *           "target": {
         *             "type": "lab",
         *             "id": "cs101/cs101-fall",
         *             "name": "cs101-fall"
         *           },
         *           "status": "succeeded",
         *           "progress": {
         *             "percent": 100,
         *             "step": "dispatch"
         *           },
         *           "attempts": 1,
         *           "createdAt": "2026-12-07T03:03:50.891Z",
         *           "updatedAt": "2026-12-07T03:03:50.916Z",
         *           "createdBy": "alice",
         *           "cancelRequested": false,
         *           "tenant": "cs101",
         *           "startedAt": "2026-12-07T03:03:50.896Z",
         *           "finishedAt": "2026-12-07T03:03:50.916Z",
         *           "result": {
         *             "tenant": "cs101",
         *             "lab": "cs101-fall",
         *             "reason": "roster",
         *             "diff": {
         *               "added": [],
         *               "removed": [],
         *               "updated": [],
         *               "unchanged": 2
         *             },
         *             "summary": {
         *               "total": 2,
         *               "pending": 0,
         *               "provisioning": 0,
         *               "ready": 2,
         *               "failed": 0,
         *               "dropped": 0
         *             },
         *             "ready": true,
         *             "failed": []
         *           }
         *         }
         *       ],
         *       "nextCursor": "eyJrIjoiODIwMzM4NzM2OTEwODowNDViYTY4Yi03OTI1LTQwYzgtYThkNS03YTUxMDdlYTRhYTIifQ"
         *     }
         */
        OperationList: {
            items: components["schemas"]["Operation"][];
            nextCursor?: string;
        };
        /**
         * @example {
         *       "status": "ok"
         *     }
         */
        Health: {
            /** @enum {string} */
            status: "ok";
        };
        /**
         * @example {
         *       "status": "ready",
         *       "checks": {
         *         "kubernetes": {
         *           "ok": true
         *         },
         *         "tenants": {
         *           "ok": true
         *         },
         *         "webhooks": {
         *           "ok": true
         *         },
         *         "lti": {
         *           "ok": true
         *         },
         *         "images": {
         *           "ok": true
         *         },
         *         "vms": {
         *           "ok": true
         *         },
         *         "labs": {
         *           "ok": true
         *         }
         *       }
         *     }
         */
        Readiness: {
            /** @enum {string} */
            status: "ready" | "not_ready";
            checks: {
                [key: string]: {
                    ok: boolean;
                    detail?: string;
                };
            };
        };
        /**
         * @example {
         *       "sub": "alice",
         *       "name": "Alice Admin",
         *       "roles": [
         *         "platform-admin"
         *       ]
         *     }
         */
        DevTokenRequest: {
            sub: string;
            name?: string;
            roles?: ("platform-admin" | "labs.manage" | "vms.manage" | "read")[];
            /** @description Tenant id → role. */
            tenants?: {
                [key: string]: "owner" | "member";
            };
            groups?: string[];
            /** @default 28800 */
            expiresInSeconds?: number;
        };
        /**
         * @example {
         *       "accessToken": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsInJvbGVzIjpbInBsYXRmb3JtLWFkbWluIl19.3q0cYJ8m3yq3Tt2p8m8mBq3n7YbJ0rV1o5Q2kXc9XfE",
         *       "tokenType": "Bearer",
         *       "expiresIn": 28800
         *     }
         */
        DevToken: {
            accessToken: string;
            /** @enum {string} */
            tokenType: "Bearer";
            expiresIn: number;
        };
        /** @enum {string} */
        TenantProfile: "faculty" | "student" | "admin";
        Quota: {
            /** @description CPU cores requested in total. */
            requestsCpu: number;
            requestsMemoryGi: number;
            limitsCpu: number;
            limitsMemoryGi: number;
            storageGi: number;
            persistentVolumeClaims: number;
            virtualMachines: number;
        };
        /** @description Current consumption in the units of Quota; memory and storage may be fractional GiB. */
        QuotaUsage: {
            requestsCpu: number;
            requestsMemoryGi: number;
            limitsCpu: number;
            limitsMemoryGi: number;
            storageGi: number;
            persistentVolumeClaims: number;
            virtualMachines: number;
        };
        QuotaPatch: {
            requestsCpu?: number;
            requestsMemoryGi?: number;
            limitsCpu?: number;
            limitsMemoryGi?: number;
            storageGi?: number;
            persistentVolumeClaims?: number;
            virtualMachines?: number;
        };
        VmCaps: {
            maxCpu: number;
            maxMemoryGi: number;
        };
        VmCapsPatch: {
            maxCpu?: number;
            maxMemoryGi?: number;
        };
        /**
         * @example {
         *       "id": "cs101",
         *       "displayName": "Intro to Systems",
         *       "profile": "student",
         *       "quota": {
         *         "requestsCpu": 8,
         *         "requestsMemoryGi": 16,
         *         "limitsCpu": 16,
         *         "limitsMemoryGi": 32,
         *         "storageGi": 250,
         *         "persistentVolumeClaims": 5,
         *         "virtualMachines": 5
         *       },
         *       "vmCaps": {
         *         "maxCpu": 2,
         *         "maxMemoryGi": 4
         *       },
         *       "usage": {
         *         "requestsCpu": 4,
         *         "requestsMemoryGi": 8,
         *         "limitsCpu": 4,
         *         "limitsMemoryGi": 8,
         *         "storageGi": 40,
         *         "persistentVolumeClaims": 4,
         *         "virtualMachines": 4
         *       },
         *       "phase": "Active",
         *       "createdAt": "2026-12-07T03:03:43.000Z",
         *       "version": "39"
         *     }
         */
        Tenant: {
            id: string;
            displayName: string;
            description?: string;
            profile: components["schemas"]["TenantProfile"];
            quota: components["schemas"]["Quota"];
            vmCaps: components["schemas"]["VmCaps"];
            usage: components["schemas"]["QuotaUsage"];
            /** @enum {string} */
            phase: "Active" | "Terminating";
            /** Format: date-time */
            createdAt: string;
            version: string;
            costControls?: components["schemas"]["CostControls"];
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "id": "cs101",
         *           "displayName": "Intro to Systems",
         *           "profile": "student",
         *           "quota": {
         *             "requestsCpu": 8,
         *             "requestsMemoryGi": 16,
         *             "limitsCpu": 16,
         *             "limitsMemoryGi": 32,
         *             "storageGi": 250,
         *             "persistentVolumeClaims": 5,
         *             "virtualMachines": 5
         *           },
         *           "vmCaps": {
         *             "maxCpu": 2,
         *             "maxMemoryGi": 4
         *           },
         *           "usage": {
         *             "requestsCpu": 4,
         *             "requestsMemoryGi": 8,
         *             "limitsCpu": 4,
         *             "limitsMemoryGi": 8,
         *             "storageGi": 40,
         *             "persistentVolumeClaims": 4,
         *             "virtualMachines": 4
         *           },
         *           "phase": "Active",
         *           "createdAt": "2026-12-07T03:03:43.000Z",
         *           "version": "39"
         *         },
         *         {
         *           "id": "demo",
         *           "displayName": "Demo tenant",
         *           "profile": "faculty",
         *           "quota": {
         *             "requestsCpu": 64,
         *             "requestsMemoryGi": 128,
         *             "limitsCpu": 128,
         *             "limitsMemoryGi": 256,
         *             "storageGi": 4000,
         *             "persistentVolumeClaims": 80,
         *             "virtualMachines": 60
         *           },
         *           "vmCaps": {
         *             "maxCpu": 8,
         *             "maxMemoryGi": 32
         *           },
         *           "usage": {
         *             "requestsCpu": 0,
         *             "requestsMemoryGi": 0,
         *             "limitsCpu": 0,
         *             "limitsMemoryGi": 0,
         *             "storageGi": 0,
         *             "persistentVolumeClaims": 0,
         *             "virtualMachines": 0
         *           },
         *           "phase": "Active",
         *           "createdAt": "2026-12-07T03:03:32.000Z",
         *           "version": "20"
         *         }
         *       ]
         *     }
         */
        TenantList: {
            items: components["schemas"]["Tenant"][];
            nextCursor?: string;
        };
        OwnerRef: {
            principalId: string;
            principalType?: components["schemas"]["PrincipalType"];
            displayName?: string;
        };
        /**
         * @example {
         *       "id": "cs101",
         *       "displayName": "Intro to Systems",
         *       "profile": "student",
         *       "owners": [
         *         {
         *           "principalId": "olga",
         *           "displayName": "Olga Petrova"
         *         }
         *       ]
         *     }
         */
        TenantCreate: {
            id: string;
            displayName: string;
            description?: string;
            profile: components["schemas"]["TenantProfile"];
            quota?: components["schemas"]["QuotaPatch"];
            vmCaps?: components["schemas"]["VmCapsPatch"];
            owners?: components["schemas"]["OwnerRef"][];
            costControls?: components["schemas"]["CostControlsInput"];
        };
        /**
         * @example {
         *       "displayName": "Intro to Systems (Fall term)",
         *       "description": "Weekly labs on Linux systems programming."
         *     }
         */
        TenantPatch: {
            displayName?: string;
            description?: string;
            quota?: components["schemas"]["QuotaPatch"];
            vmCaps?: components["schemas"]["VmCapsPatch"];
            /** @description The given parts change, the others stay; `null` removes the tenant's cost controls. */
            costControls?: components["schemas"]["CostControlsInput"] | null;
        };
        /** @enum {string} */
        PrincipalType: "User" | "Group";
        /** @enum {string} */
        TenantRole: "owner" | "member";
        /**
         * @example {
         *       "principalId": "ann",
         *       "principalType": "User",
         *       "role": "member",
         *       "displayName": "Ann Lee"
         *     }
         */
        Member: {
            principalId: string;
            principalType: components["schemas"]["PrincipalType"];
            role: components["schemas"]["TenantRole"];
            displayName?: string;
        };
        /**
         * @example {
         *       "role": "member",
         *       "principalType": "User",
         *       "displayName": "Ann Lee"
         *     }
         */
        MemberPut: {
            role: components["schemas"]["TenantRole"];
            principalType?: components["schemas"]["PrincipalType"];
            displayName?: string;
        };
        /**
         * @example {
         *       "items": [
         *         {
         *           "principalId": "ann",
         *           "principalType": "User",
         *           "role": "member",
         *           "displayName": "Ann Lee"
         *         },
         *         {
         *           "principalId": "olga",
         *           "principalType": "User",
         *           "role": "owner",
         *           "displayName": "Olga Petrova"
         *         }
         *       ]
         *     }
         */
        MemberList: {
            items: components["schemas"]["Member"][];
            /** @description Present when there is a next page; pass it as `cursor`. */
            nextCursor?: string;
        };
    };
    responses: {
        /** @description Accepted; the work runs as the operation in the body. Poll `Operation-Location` or subscribe over GraphQL. */
        Accepted: {
            headers: {
                Location: components["headers"]["OperationLocation"];
                "Operation-Location": components["headers"]["OperationLocation"];
                "Retry-After": components["headers"]["OperationRetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Operation"];
            };
        };
        /** @description The request is malformed; `errors` lists each offending field. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Missing or invalid bearer token. */
        Unauthorized: {
            headers: {
                "WWW-Authenticate"?: string;
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Your role does not allow this. */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No such resource (or not visible to you). */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The resource's state does not allow this; `code` says why. */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The If-None-Match named the current ETag; no body. */
        NotModified: {
            headers: {
                ETag: components["headers"]["ETag"];
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description If-Match did not match the current version. */
        PreconditionFailed: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Well-formed but not acceptable (e.g. an Idempotency-Key reused with another body). */
        Unprocessable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Rate limit exceeded. */
        TooManyRequests: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description A dependency (Kubernetes, Redis) is unavailable; retry later. `CRD_NOT_INSTALLED`: the cluster does not serve a resource this needs (`details.crd` names its CustomResourceDefinition, e.g. `labs.labplane.io`) until an operator installs it. */
        Unavailable: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /** @description Registration id (a UUID). */
        LtiRegistrationId: string;
        /** @description Tenant id (a DNS label). */
        TenantId: string;
        /** @description Azure AD object id (user or group) or other subject id. */
        PrincipalId: string;
        OperationId: string;
        /** @description Webhook id (a UUID). */
        WebhookId: string;
        /** @description Delivery id (a UUID). */
        DeliveryId: string;
        /** @description The event id (the body's `id`); the same on every retry and redelivery. */
        WebhookIdHeader: string;
        /** @description When this attempt was signed, unix seconds; refuse a delivery whose timestamp is far from now. */
        WebhookTimestampHeader: string;
        /**
         * @description Space-separated `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with
         *     the bytes after `whsec_` of the secret; two entries during a rotation's overlap (new secret
         *     first). A delivery is genuine when any entry verifies.
         */
        WebhookSignatureHeader: string;
        /** @description Page size. */
        Limit: number;
        /** @description The `nextCursor` of the previous page. */
        Cursor: string;
        /**
         * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
         *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
         *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
         * @example "3kTq0b9xYt2mC8vR1wLpQe"
         */
        IfMatch: string;
        /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
        IfNoneMatch: string;
        /** @description Makes a retried POST safe; a replay returns the first answer. */
        IdempotencyKey: string;
    };
    requestBodies: never;
    headers: {
        /** @description URL of the created resource. */
        Location: string;
        /**
         * @description Version of the resource (strong, RFC 9110 §8.8.3); send it back in If-Match to avoid lost updates, or in
         *     If-None-Match to be answered 304 when it did not change. Resources with a `version` field use it; the others
         *     (members, images, snapshots, access grants, webhooks) a digest of their representation.
         */
        ETag: string;
        /** @description URL of the operation, `/v1/operations/{id}`. */
        OperationLocation: string;
        /** @description Seconds to wait before retrying. */
        RetryAfter: number;
        /** @description Seconds to wait before reading the operation again; sent while it is not final (2, or 10 for `image.import`), absent once it succeeded, failed or was canceled. */
        OperationRetryAfter: number;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description Not ready (`NOT_READY`); `details.checks` says which dependency or informer failed, since when and why. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    createDevToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DevTokenRequest"];
            };
        };
        responses: {
            /** @description A signed token the service accepts until it expires. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DevToken"];
                };
            };
            400: components["responses"]["BadRequest"];
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition format. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    getOpenApi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI 3.1 document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
        };
    };
    getApiDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    postGraphQL: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    query: string;
                    variables?: Record<string, never> | null;
                    operationName?: string | null;
                };
            };
        };
        responses: {
            /** @description A GraphQL response (`data`, `errors`). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            /** @description The query is malformed or over a limit (depth, aliases, cost, batch size), or sent as a simple cross-site request. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
        };
    };
    getQueueDashboard: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
        };
    };
    ltiLoginGet: {
        parameters: {
            query?: {
                /** @description The platform's issuer. */
                iss?: string;
                /** @description Opaque to the tool; passed back to the platform. */
                login_hint?: string;
                /** @description Where the launch should land; must be a URL of this tool. */
                target_link_uri?: string;
                /** @description Opaque to the tool; passed back when given. */
                lti_message_hint?: string;
                lti_deployment_id?: string;
                /** @description Needed when the issuer has several registrations. */
                client_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description To the platform's OIDC authorization endpoint (scope openid, response_type id_token, response_mode form_post, prompt none, state, nonce), with a state cookie (HttpOnly, Secure, SameSite=None, Partitioned, Path=/lti) binding the state to this browser. */
            302: {
                headers: {
                    location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or malformed parameters, several registrations without client_id, a target_link_uri not of this tool. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The platform (or the deployment) is not registered. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    ltiLoginPost: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    iss?: string;
                    login_hint?: string;
                    target_link_uri?: string;
                    lti_message_hint?: string;
                    lti_deployment_id?: string;
                    client_id?: string;
                };
            };
        };
        responses: {
            /** @description To the platform's OIDC authorization endpoint (scope openid, response_type id_token, response_mode form_post, prompt none, state, nonce), with a state cookie (HttpOnly, Secure, SameSite=None, Partitioned, Path=/lti) binding the state to this browser. */
            302: {
                headers: {
                    location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Missing or malformed parameters, several registrations without client_id, a target_link_uri not of this tool. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The platform (or the deployment) is not registered. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    ltiLaunch: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    id_token?: string;
                    state?: string;
                    error?: string;
                    error_description?: string;
                };
            };
        };
        responses: {
            /** @description A Deep Linking request whose accept_types lack ltiResourceLink: the answer (errormsg) posted back to the platform. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Launch accepted; to `/lti/learner`, `/lti/instructor` or `/lti/deep-link`, with the session cookie. */
            303: {
                headers: {
                    location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Malformed launch, or the platform answered with an error. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description State, cookie, signature, key, issuer, audience, time, nonce or replay check failed. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Deployment or registration not allowed, or a learner sent a Deep Linking request. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The link names a lab that does not exist in the registration's tenant. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The platform's keys (JWKS) could not be read. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    ltiDeepLinkPage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The picker. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description No session (or it ended). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Not a Deep Linking session, or not an instructor. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    ltiDeepLinkUse: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    csrf?: string;
                    lab?: string;
                    rebind?: string;
                };
            };
        };
        responses: {
            /** @description The answer to the platform (auto-submitted form with `JWT`). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Refused (session, CSRF token, role, unknown lab, lab bound to another course). */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    ltiDeepLinkCreate: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    csrf?: string;
                    name?: string;
                    displayName?: string;
                    /** @description `platform/<name>` or `tenant/<name>` */
                    image?: string;
                    /** @description `small` (1 vCPU, 2 GiB, 20 GiB), `medium` (2, 4, 40) or `large` (4, 8, 80) */
                    size?: string;
                    /** @description `true` to onboard the VMs to Azure Arc */
                    arc?: string;
                    /** @description Public key put on every VM (needed without Azure Arc) */
                    sshPublicKey?: string;
                };
            };
        };
        responses: {
            /** @description The answer to the platform (auto-submitted form with `JWT`). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Refused or not acceptable (the picker again with the reason). */
            "4XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    getLtiStylesheet: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description CSS. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/css": string;
                };
            };
        };
    };
    getLtiDeepLinkScript: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description JavaScript. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/javascript": string;
                };
            };
        };
    };
    getLtiLearnerPage: {
        parameters: {
            query?: {
                /** @description A short message to show after an action (one of a fixed set; others are ignored). */
                notice?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML page (framed by the LMS; `Content-Security-Policy` frame-ancestors from LTI_FRAME_ANCESTORS, no-store caching). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description No session, or it ended (HTML page asking to launch again from the course). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The session is not of the page's role (HTML page). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    startLtiLearnerVm: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    /** @description The session's form token (a hidden field of the page). */
                    csrf?: string;
                };
            };
        };
        responses: {
            /** @description Done; back to the page with a short notice. */
            303: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The form body is missing. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No session, or it ended (HTML page asking to launch again from the course). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The session is not of the page's role (HTML page). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The lab or student is not there (HTML page). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Not possible in the current state (HTML page with the reason). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The form is larger than 4 KiB. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    stopLtiLearnerVm: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    /** @description The session's form token (a hidden field of the page). */
                    csrf?: string;
                };
            };
        };
        responses: {
            /** @description Done; back to the page with a short notice. */
            303: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The form body is missing. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No session, or it ended (HTML page asking to launch again from the course). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The session is not of the page's role (HTML page). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The lab or student is not there (HTML page). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Not possible in the current state (HTML page with the reason). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The form is larger than 4 KiB. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    getLtiInstructorPage: {
        parameters: {
            query?: {
                /** @description A short message to show after an action (one of a fixed set; others are ignored). */
                notice?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML page (framed by the LMS; `Content-Security-Policy` frame-ancestors from LTI_FRAME_ANCESTORS, no-store caching). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description No session, or it ended (HTML page asking to launch again from the course). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The session is not of the page's role (HTML page). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    syncLtiLabRoster: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    /** @description The session's form token (a hidden field of the page). */
                    csrf?: string;
                };
            };
        };
        responses: {
            /** @description Done; back to the page with a short notice. */
            303: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The form body is missing. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No session, or it ended (HTML page asking to launch again from the course). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The session is not of the page's role (HTML page). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The lab or student is not there (HTML page). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Not possible in the current state (HTML page with the reason). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The form is larger than 4 KiB. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    retryLtiLabStudent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The student's directory object id. */
                student: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    /** @description The session's form token (a hidden field of the page). */
                    csrf?: string;
                };
            };
        };
        responses: {
            /** @description Done; back to the page with a short notice. */
            303: {
                headers: {
                    Location?: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The form body is missing. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            /** @description No session, or it ended (HTML page asking to launch again from the course). */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The session is not of the page's role (HTML page). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The lab or student is not there (HTML page). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Not possible in the current state (HTML page with the reason). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The form is larger than 4 KiB. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    listTenants: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                profile?: components["schemas"]["TenantProfile"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of tenants. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createTenant: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["TenantCreate"];
            };
        };
        responses: {
            /** @description Created. */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getTenant: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The tenant. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteTenant: {
        parameters: {
            query?: {
                force?: boolean;
            };
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateTenant: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/merge-patch+json": components["schemas"]["TenantPatch"];
                "application/json": components["schemas"]["TenantPatch"];
            };
        };
        responses: {
            /** @description The updated tenant. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Tenant"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listMembers: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every member. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["MemberList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getMember: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Azure AD object id (user or group) or other subject id. */
                principalId: components["parameters"]["PrincipalId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The member. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    putMember: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Azure AD object id (user or group) or other subject id. */
                principalId: components["parameters"]["PrincipalId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["MemberPut"];
            };
        };
        responses: {
            /** @description The member's role was replaced. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            /** @description The member was added. */
            201: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Member"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteMember: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Azure AD object id (user or group) or other subject id. */
                principalId: components["parameters"]["PrincipalId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Removed. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listAuditEvents: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                tenant?: string;
                /** @description Principal id of who acted. */
                actor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of audit events. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEventList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listImages: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                phase?: components["schemas"]["ImagePhase"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of platform images. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImageList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    importImage: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ImageImport"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getImage: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Image name (a DNS label of at most 54 characters). */
                image: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The image. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Image"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteImage: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Image name (a DNS label of at most 54 characters). */
                image: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listTenantImages: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                phase?: components["schemas"]["ImagePhase"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of the tenant's images. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImageList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    importTenantImage: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ImageImport"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getTenantImage: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Image name (a DNS label of at most 54 characters). */
                image: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The image. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Image"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteTenantImage: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Image name (a DNS label of at most 54 characters). */
                image: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listInstanceTypes: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                tenant?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The catalog. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InstanceTypeList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listVms: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description Principal id of the owner. */
                owner?: string;
                state?: components["schemas"]["VmState"];
                lab?: string;
                /** @description `key=value` (the label equals) or `key` (the label is present), on the labels given at creation. */
                label?: string;
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of VMs, sorted by name. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmCreate"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The VM. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Vm"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteVm: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateVm: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/merge-patch+json": components["schemas"]["VmPatch"];
                "application/json": components["schemas"]["VmPatch"];
            };
        };
        responses: {
            /** @description The VM after the change. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Vm"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    startVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    stopVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    restartVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    migrateVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    retryVmIdentity: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listVmSnapshots: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The snapshots. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmSnapshotList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createVmSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["VmSnapshotCreate"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getVmSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Snapshot name (a DNS label of at most 63 characters). */
                snapshot: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The snapshot. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmSnapshot"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteVmSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Snapshot name (a DNS label of at most 63 characters). */
                snapshot: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    restoreVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmRestore"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    cloneVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description The VM to clone (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmClone"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    publishVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description The VM to publish (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmPublish"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    reimageVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["VmReimage"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listVmAccess: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The VM's access grants. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmAccessList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getVmAccess: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Azure AD object id of the user or group. */
                principalId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The principal's grants on the VM. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmAccessList"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    grantVmAccess: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Azure AD object id of the user or group. */
                principalId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VmAccessGrant"];
            };
        };
        responses: {
            /** @description The grant. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VmAccess"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    revokeVmAccess: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
                /** @description Azure AD object id of the user or group. */
                principalId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked (or there was nothing to revoke). */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createConsoleTicket: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description VM name (a DNS label of at most 54 characters). */
                vm: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConsoleTicketRequest"];
            };
        };
        responses: {
            /** @description The ticket (not cached). */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConsoleTicket"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    openConsole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A ticket from `createConsoleTicket` (single use, a minute at most). It is the credential; it is never logged. */
                ticket: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Switching to the WebSocket protocol. */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            /** @description A plain GET (`WEBSOCKET_REQUIRED`); the address only speaks WebSocket. */
            426: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            503: components["responses"]["Unavailable"];
        };
    };
    getVncConsolePage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    getSerialConsolePage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description HTML page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    listNodes: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every KubeVirt node. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["NodeList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    evacuateNode: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                node: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listLabs: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description Only labs linked to a course of this LMS (`canvas`, `moodle`...). */
                lms?: string;
                /** @description Only labs linked to this course id. */
                courseId?: string;
                phase?: components["schemas"]["LabPhase"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of labs. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LabList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createLab: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LabCreate"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getLab: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The lab. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Lab"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteLab: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateLab: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/merge-patch+json": components["schemas"]["LabPatch"];
                "application/json": components["schemas"]["LabPatch"];
            };
        };
        responses: {
            /** @description The lab after the change. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Lab"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    syncLabRoster: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LabRoster"];
            };
        };
        responses: {
            /** @description Accepted; the roster is stored and the operation in the body applies it. */
            202: {
                headers: {
                    Location: components["headers"]["OperationLocation"];
                    "Operation-Location": components["headers"]["OperationLocation"];
                    "Retry-After": components["headers"]["OperationRetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RosterSyncAccepted"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    syncLabFromLms: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    reimageLab: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["LabReimage"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getLabTemplateVm: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The template VM. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Vm"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createLabTemplateVm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["LabTemplateVmCreate"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    publishLabTemplate: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["LabTemplatePublish"];
            };
        };
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listLabStudents: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                status?: components["schemas"]["StudentStatus"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of students. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StudentList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    retryLabStudent: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
                /** @description The student's Azure AD object id (a GUID). */
                student: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    addLabUsageHours: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
                /** @description The student's Azure AD object id (a GUID). */
                student: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UsageHoursAdd"];
            };
        };
        responses: {
            /** @description The student's added hours after the change. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UsageHoursAdded"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getLabUsage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Lab name (a DNS label of at most 40 characters). */
                lab: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The lab's usage. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LabUsage"];
                    "text/csv": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getTenantUsage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The tenant's usage. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TenantUsage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listWebhooks: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of webhooks. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createWebhook: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WebhookCreate"];
            };
        };
        responses: {
            /** @description Registered. Keep `secret`, it is never shown again. */
            201: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookCreated"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getWebhook: {
        parameters: {
            query?: never;
            header?: {
                /** @description An ETag this API returned (or `*`); when it is still current the answer is 304 with no body. */
                "If-None-Match"?: components["parameters"]["IfNoneMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The webhook. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Webhook"];
                };
            };
            304: components["responses"]["NotModified"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteWebhook: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateWebhook: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "events": [
                 *         "operation.failed",
                 *         "lab.ready",
                 *         "webhook.disabled"
                 *       ],
                 *       "description": "Canvas course sync"
                 *     }
                 */
                "application/json": components["schemas"]["WebhookUpdate"];
            };
        };
        responses: {
            /** @description The webhook after the change. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Webhook"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            412: components["responses"]["PreconditionFailed"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    pingWebhook: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The ping's delivery, queued. */
            202: {
                headers: {
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDelivery"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    rotateWebhookSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "overlapHours": 24
                 *     }
                 */
                "application/json": components["schemas"]["WebhookSecretRotation"];
            };
        };
        responses: {
            /** @description The webhook with its new secret (`secret`), never shown again. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookCreated"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getWebhookDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
                /** @description Delivery id (a UUID). */
                deliveryId: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The delivery. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDelivery"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    redeliverWebhookDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
                /** @description Delivery id (a UUID). */
                deliveryId: components["parameters"]["DeliveryId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The new delivery, queued. */
            202: {
                headers: {
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDelivery"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listWebhookDeliveries: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Webhook id (a UUID). */
                id: components["parameters"]["WebhookId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of deliveries. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookDeliveryList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listOperations: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
                tenant?: string;
                kind?: string;
                /** @description One or more statuses (repeat the parameter). */
                status?: components["schemas"]["OperationStatus"][];
                targetType?: string;
                targetId?: string;
                /** @description Only the children of this operation (a lab's students, an evacuation's migrations). */
                parentId?: string;
                /** @description Only operations without a parent (what clients started); a 500-student lab adds about 1500 children. */
                topLevel?: boolean;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of operations. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OperationList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getOperation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                operationId: components["parameters"]["OperationId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The operation. */
            200: {
                headers: {
                    "Retry-After": components["headers"]["OperationRetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Operation"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    cancelOperation: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                operationId: components["parameters"]["OperationId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            202: components["responses"]["Accepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getLtiJwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key set. */
            200: {
                headers: {
                    /** @description `public, max-age=300` */
                    "Cache-Control"?: string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JsonWebKeySet"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    rotateLtiKeys: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Rotated. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    listLtiRegistrations: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `nextCursor` of the previous page. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The registrations (a tenant holds at most 20). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LtiRegistrationList"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    createLtiRegistration: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes a retried POST safe; a replay returns the first answer. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LtiRegistrationInput"];
            };
        };
        responses: {
            /** @description Registered. */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LtiRegistration"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getLtiRegistration: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Registration id (a UUID). */
                id: components["parameters"]["LtiRegistrationId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The registration. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LtiRegistration"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    updateLtiRegistration: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Registration id (a UUID). */
                id: components["parameters"]["LtiRegistrationId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LtiRegistrationInput"];
            };
        };
        responses: {
            /** @description The registration after the change. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LtiRegistration"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    deleteLtiRegistration: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The resource's ETag as last read (or `*`): the write is refused with 412 `VERSION_MISMATCH` when the
                 *     resource changed meanwhile, so two clients cannot overwrite each other's changes. Compared strongly
                 *     (RFC 9110 §13.1.1): a weak `W/"..."` tag never matches. Without it the write applies unconditionally.
                 * @example "3kTq0b9xYt2mC8vR1wLpQe"
                 */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
                /** @description Registration id (a UUID). */
                id: components["parameters"]["LtiRegistrationId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            412: components["responses"]["PreconditionFailed"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
    getLtiToolConfiguration: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Tenant id (a DNS label). */
                tenant: components["parameters"]["TenantId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The tool's configuration. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LtiToolConfiguration"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            503: components["responses"]["Unavailable"];
        };
    };
}
type WithRequired<T, K extends keyof T> = T & {
    [P in K]-?: T[P];
};
