/**
 * The body of a tenant large enough for a benchmark: an admin profile and a quota that only the
 * number of VMs limits.
 */
export function benchTenantBody(id: string, displayName: string, virtualMachines: number) {
  return {
    id,
    displayName,
    profile: 'admin',
    quota: {
      requestsCpu: 512,
      limitsCpu: 1024,
      requestsMemoryGi: 2048,
      limitsMemoryGi: 4096,
      storageGi: 50000,
      persistentVolumeClaims: 1000,
      virtualMachines,
    },
  };
}
