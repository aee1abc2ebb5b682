/** Layer rules: api and jobs depend on domain; adapters implement domain ports; only main wires. */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports only src/domain and Node built-ins: no framework, vendor SDK or other layer.',
      severity: 'error',
      from: { path: '^src/domain' },
      to: { pathNot: '^src/domain', dependencyTypesNot: ['core'] },
    },
    {
      name: 'adapters-not-into-api-jobs-main',
      severity: 'error',
      from: { path: '^src/adapters' },
      to: { path: '^src/(api|jobs|main)' },
    },
    {
      name: 'api-not-into-adapters-jobs-main',
      severity: 'error',
      from: { path: '^src/api' },
      to: { path: '^src/(adapters|jobs|main)' },
    },
    {
      name: 'jobs-not-into-adapters-api-main',
      severity: 'error',
      from: { path: '^src/jobs' },
      to: { path: '^src/(adapters|api|main)' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
