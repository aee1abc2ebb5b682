// One-off, run by a cluster administrator (not the control plane: it may no longer read tenant
// Secrets) after upgrading from the first wave, which kept webhook Secrets in tenant namespaces:
//   KUBECONFIG=~/.kube/admin node --import tsx scripts/migrate-webhook-secrets.ts [--control-namespace labplane-system] [--delete-originals]
// Copies them into the control namespace (labelled with their tenant); with --delete-originals it
// deletes the originals too. Safe to run again.
import { createKubeClient, type KubeLogger } from '../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../src/adapters/kubernetes/kube-config.js';
import { migrateWebhookSecrets } from '../src/adapters/kubernetes/webhook-migration.js';

const args = process.argv.slice(2);
const at = args.indexOf('--control-namespace');
const controlNamespace = at >= 0 ? (args[at + 1] ?? '') : (process.env['CONTROL_NAMESPACE'] ?? 'labplane-system');
const kubeconfigPath = process.env['KUBECONFIG']?.split(':')[0];
if (kubeconfigPath === undefined || kubeconfigPath === '' || controlNamespace === '') {
  console.error(
    'usage: KUBECONFIG=<admin kubeconfig> node --import tsx scripts/migrate-webhook-secrets.ts [--control-namespace <ns>] [--delete-originals]',
  );
  process.exit(2);
}
const log: KubeLogger = { debug: () => undefined, info: () => undefined, warn: (o, m) => console.warn(m, o), error: (o, m) => console.error(m, o) };
const client = createKubeClient({ kubeConfig: loadKubeConfig({ kubeconfigPath }), logger: log });
const report = await migrateWebhookSecrets(client, controlNamespace, { deleteOriginals: args.includes('--delete-originals') });
console.log(JSON.stringify(report, null, 2));
