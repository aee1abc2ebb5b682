#cloud-config
# labplane: onboards this VM to Azure Arc. Lives in the VM's cloud-init Secret, never in the VM object.
# Template of render-arc-onboarding.ts: placeholders name their escaping (sh = one shell word, yaml = a
# double-quoted scalar); section lines keep what they enclose only when their flag is set.
bootcmd:
  # First of all, on every boot: the Arc agent refuses to install or run where IMDS answers.
  - [ /bin/sh, -c, "if command -v iptables >/dev/null 2>&1; then iptables -C OUTPUT -d 169.254.169.254/32 -j REJECT 2>/dev/null || iptables -I OUTPUT 1 -d 169.254.169.254/32 -j REJECT; elif command -v nft >/dev/null 2>&1; then nft add table inet labplane_imds && nft 'add chain inet labplane_imds output { type filter hook output priority 0 ; policy accept ; }' && nft add rule inet labplane_imds output ip daddr 169.254.169.254 reject; else echo 'labplane: no iptables or nft to block IMDS' >&2; fi" ]
write_files:
  - path: /usr/local/sbin/labplane-arc-onboard
    owner: root:root
    permissions: '0700'
    content: |
      #!/bin/bash
      # Blocks IMDS, waits for the network, installs the Connected Machine agent, connects to Arc.
      set -uo pipefail
      umask 077
      readonly LOG=/var/log/labplane-arc-onboarding.log
      readonly CREDENTIAL_FILE=/run/labplane/arc-onboarding.credential
      readonly SUBSCRIPTION_ID={{ subscriptionId | sh }}
      readonly RESOURCE_GROUP={{ resourceGroup | sh }}
      readonly TENANT_ID={{ tenantId | sh }}
      readonly LOCATION={{ location | sh }}
      readonly CLOUD={{ cloud | sh }}
      readonly RESOURCE_NAME={{ machineName | sh }}
      readonly TAGS={{ tags | sh }}
      {{#servicePrincipal}}
      readonly SP_CLIENT_ID={{ clientId | sh }}
      {{/servicePrincipal}}

      log() { printf '%s [labplane-arc] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" | tee -a "$LOG" >&2; }

      # The credential is read once per attempt and deleted on every exit path.
      forget_credential() {
        if [ -f "$CREDENTIAL_FILE" ]; then shred -u "$CREDENTIAL_FILE" 2>/dev/null || rm -f "$CREDENTIAL_FILE"; fi
      }
      trap forget_credential EXIT

      block_imds() {
        if command -v iptables >/dev/null 2>&1; then
          iptables -C OUTPUT -d 169.254.169.254/32 -j REJECT 2>/dev/null || iptables -I OUTPUT 1 -d 169.254.169.254/32 -j REJECT
        elif command -v nft >/dev/null 2>&1; then
          nft add table inet labplane_imds
          nft 'add chain inet labplane_imds output { type filter hook output priority 0 ; policy accept ; }'
          nft list chain inet labplane_imds output | grep -q '169.254.169.254' || nft add rule inet labplane_imds output ip daddr 169.254.169.254 reject
        fi
      }

      imds_answers() {
        curl -s -o /dev/null --connect-timeout 2 --max-time 3 -H Metadata:true 'http://169.254.169.254/metadata/instance?api-version=2021-02-01'
      }

      wait_for_network() {
        local i
        for i in $(seq 1 60); do
          if curl -s -o /dev/null --connect-timeout 5 --max-time 10 https://management.azure.com/; then
            log "network ready"
            return 0
          fi
          log "waiting for the network ($i/60)"
          sleep 5
        done
        return 1
      }

      install_agent() {
        command -v azcmagent >/dev/null 2>&1 && return 0
        local i
        for i in 1 2 3 4 5; do
          if curl -fsSL --retry 5 --retry-delay 5 --retry-connrefused --connect-timeout 10 --max-time 300 \
              -o /tmp/install_linux_azcmagent.sh https://gbl.his.arc.azure.com/azcmagent-linux \
            && bash /tmp/install_linux_azcmagent.sh; then
            rm -f /tmp/install_linux_azcmagent.sh
            return 0
          fi
          log "agent installation failed ($i/5)"
          sleep $((i * 15))
        done
        return 1
      }

      connected() {
        azcmagent show 2>/dev/null | grep -Eq 'Agent Status[[:space:]]*:[[:space:]]*Connected'
      }

      connect() {
        local attempt delay=15
        for attempt in 1 2 3 4 5 6; do
          if [ ! -s "$CREDENTIAL_FILE" ]; then
            log "no onboarding credential on this machine"
            return 1
          fi
          {{#accessToken}}
          azcmagent connect --resource-group "$RESOURCE_GROUP" --tenant-id "$TENANT_ID" --location "$LOCATION" \
            --subscription-id "$SUBSCRIPTION_ID" --cloud "$CLOUD" --resource-name "$RESOURCE_NAME" --tags "$TAGS" \
            --access-token "$(cat "$CREDENTIAL_FILE")" && return 0
          {{/accessToken}}
          {{#servicePrincipal}}
          azcmagent connect --resource-group "$RESOURCE_GROUP" --tenant-id "$TENANT_ID" --location "$LOCATION" \
            --subscription-id "$SUBSCRIPTION_ID" --cloud "$CLOUD" --resource-name "$RESOURCE_NAME" --tags "$TAGS" \
            --service-principal-id "$SP_CLIENT_ID" --service-principal-secret "$(cat "$CREDENTIAL_FILE")" && return 0
          {{/servicePrincipal}}
          log "azcmagent connect failed (attempt $attempt/6); next attempt in ${delay}s"
          sleep "$delay"
          delay=$((delay * 2))
        done
        return 1
      }

      block_imds
      if imds_answers; then log "IMDS still answers: Azure Arc cannot be installed here"; exit 1; fi
      if command -v azcmagent >/dev/null 2>&1 && connected; then log "already connected to Azure Arc"; exit 0; fi
      wait_for_network || { log "no network after 5 minutes"; exit 1; }
      install_agent || { log "could not install the Connected Machine agent"; exit 1; }
      connect || { log "could not connect to Azure Arc"; exit 1; }
      log "connected to Azure Arc as $RESOURCE_NAME"
{{#secret}}
  - path: /run/labplane/arc-onboarding.credential
    owner: root:root
    permissions: '0600'
    content: {{ credential | yaml }}
{{/secret}}
runcmd:
  - [ /usr/local/sbin/labplane-arc-onboard ]
