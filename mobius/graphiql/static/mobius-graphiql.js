/*
 * Mobius Gateway: bootstrap for the self-hosted GraphiQL IDE.
 *
 * Strawberry's stock page runs this logic as an inline <script>; here it is a
 * static file so the page works under a strict Content-Security-Policy
 * (`script-src 'self'`, no 'unsafe-inline', no 'unsafe-eval').
 *
 * Configuration comes from data- attributes on the #graphiql element:
 *   data-graphql-path     path (or URL) of the GraphQL endpoint, resolved
 *                         against the page URL; defaults to the page itself
 *   data-default-query    text shown in the editor when the URL has no ?q=
 *
 * Globals used (loaded by earlier <script> tags): React, ReactDOM, Cookies
 * (js-cookie), GraphiQL, GraphiQLPluginExplorer.
 */
(function () {
  "use strict";

  var container = document.getElementById("graphiql");
  if (!container) {
    return;
  }

  function showError(message) {
    container.textContent = "";
    var p = document.createElement("p");
    p.className = "mobius-graphiql-error";
    p.textContent = message;
    container.appendChild(p);
  }

  if (
    typeof React === "undefined" ||
    typeof ReactDOM === "undefined" ||
    typeof GraphiQL === "undefined" ||
    typeof GraphiQLPluginExplorer === "undefined"
  ) {
    showError("GraphiQL could not load its scripts. Check the browser console.");
    return;
  }

  // --- Endpoint -------------------------------------------------------------

  var fetchURL = new URL(
    container.dataset.graphqlPath || window.location.pathname,
    window.location.href,
  );
  fetchURL.search = "";
  fetchURL.hash = "";

  // Subscriptions use graphql-transport-ws on the same path: http -> ws,
  // https -> wss.
  function httpUrlToWebSocketUrl(url) {
    var wsURL = new URL(url.toString());
    wsURL.protocol = wsURL.protocol === "https:" ? "wss:" : "ws:";
    wsURL.hash = "";
    return wsURL.toString();
  }

  // --- Shareable URL parameters (?q=...&variables=...) ------------------------

  var defaultQuery = container.dataset.defaultQuery || "";
  var parameters = {};
  new URLSearchParams(window.location.search).forEach(function (value, key) {
    parameters[key] = value;
  });

  function updateURL(data) {
    Object.assign(parameters, data);
    var search = new URLSearchParams();
    Object.keys(parameters).forEach(function (key) {
      // Keep the address bar short: the untouched default query is not shared.
      if (parameters[key] && !(key === "q" && parameters[key] === defaultQuery)) {
        search.set(key, parameters[key]);
      }
    });
    var query = search.toString();
    history.replaceState(null, "", query ? "?" + query : window.location.pathname);
  }

  // --- Fetcher ----------------------------------------------------------------

  var defaultHeaders = {};
  // Same as Strawberry: forward a Django-style CSRF cookie if there is one.
  var csrfToken = typeof Cookies !== "undefined" ? Cookies.get("csrftoken") : undefined;
  if (csrfToken) {
    defaultHeaders["x-csrftoken"] = csrfToken;
  }

  // GraphiQL.createFetcher is @graphiql/toolkit's createGraphiQLFetcher.
  var fetcher = GraphiQL.createFetcher({
    url: fetchURL.toString(),
    headers: defaultHeaders,
    subscriptionUrl: httpUrlToWebSocketUrl(fetchURL),
  });

  var explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

  // --- App ----------------------------------------------------------------------

  function MobiusGraphiQL() {
    var queryState = React.useState(parameters.q || defaultQuery);
    var variablesState = React.useState(parameters.variables);

    function onEditQuery(newQuery) {
      queryState[1](newQuery);
      updateURL({ q: newQuery });
    }

    function onEditVariables(newVariables) {
      variablesState[1](newVariables);
      updateURL({ variables: newVariables });
    }

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorerPlugin],
      query: queryState[0],
      variables: variablesState[0],
      onEditQuery: onEditQuery,
      onEditVariables: onEditVariables,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      // Never write request headers (tokens!) to localStorage.
      shouldPersistHeaders: false,
    });
  }

  var root = ReactDOM.createRoot(container);
  root.render(React.createElement(MobiusGraphiQL));
})();
