/**
 * The GraphiQL page and its start script. They live here as strings rather than as .html/.js files
 * because `npm run build` (tsc) copies only compiled TypeScript into dist/, and the page must work
 * from the built image too. The script is served as its own file so the page needs no inline
 * script (the CSP keeps `script-src 'self'`).
 */

/** Where the page's scripts and styles are served (all from this origin). */
export const GRAPHIQL_ASSET_PREFIX = '/graphiql/assets';

/** The schema as an introspection result (`{ data: { __schema } }`), for the docs and completion. */
export const GRAPHIQL_SCHEMA_PATH = '/graphiql/schema.json';

/** The HTML of `/graphiql`: vendor UMD builds first, then our start script. */
export const GRAPHIQL_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>labplane GraphiQL</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}/graphiql.min.css">
  <link rel="stylesheet" href="${GRAPHIQL_ASSET_PREFIX}/page.css">
</head>
<body>
  <div id="graphiql">Loading GraphiQL...</div>
  <script src="${GRAPHIQL_ASSET_PREFIX}/react.production.min.js"></script>
  <script src="${GRAPHIQL_ASSET_PREFIX}/react-dom.production.min.js"></script>
  <script src="${GRAPHIQL_ASSET_PREFIX}/graphiql.min.js"></script>
  <script src="${GRAPHIQL_ASSET_PREFIX}/init.js"></script>
</body>
</html>
`;

/** Full-height layout (GraphiQL fills its container). */
export const GRAPHIQL_PAGE_CSS = `html, body { height: 100%; margin: 0; overflow: hidden; }
#graphiql { height: 100vh; }
`;

const DEFAULT_QUERY = `# labplane GraphQL. Put a bearer token in the Headers tab below, then run (Ctrl-Enter).
# In dev mode a token comes from POST /dev/token, for example:
#   curl -s -X POST <origin>/dev/token -H 'content-type: application/json' \\
#     -d '{"sub":"alice","roles":["platform-admin"]}'
# Subscriptions run over a WebSocket on /graphql with the same headers.
{
  me {
    id
    name
    platformAdmin
  }
}
`;

/**
 * Starts GraphiQL 3 from its UMD globals (React, ReactDOM, GraphiQL). Requests go to /graphql on
 * this origin; subscriptions use graphql-ws on the same path, whose connection_init payload is the
 * headers editor's content (so `authorization` reaches the server's onConnect). Headers are not
 * persisted in localStorage: a token stays in the tab. The schema comes from GRAPHIQL_SCHEMA_PATH
 * (see the page plugin for why).
 */
export const GRAPHIQL_INIT_JS = `(function () {
  'use strict';
  var wsProtocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({
    url: window.location.origin + '/graphql',
    subscriptionUrl: wsProtocol + '//' + window.location.host + '/graphql',
    schemaFetcher: function () {
      return window.fetch(${JSON.stringify(GRAPHIQL_SCHEMA_PATH)}, { headers: { accept: 'application/json' } }).then(function (res) {
        if (!res.ok) throw new Error('Fetching the schema failed: HTTP ' + res.status);
        return res.json();
      });
    },
  });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: ${DEFAULT_QUERY.split('<origin>')
        .map((part) => JSON.stringify(part))
        .join(' + window.location.origin + ')},
      defaultHeaders: JSON.stringify({ authorization: 'Bearer <paste a token>' }, null, 2),
      defaultEditorToolsVisibility: 'headers',
      shouldPersistHeaders: false,
    }),
  );
})();
`;
