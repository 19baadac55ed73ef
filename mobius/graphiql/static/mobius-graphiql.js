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

  // --- Storage: never keep request headers (tokens!) in localStorage ---------
  //
  // shouldPersistHeaders: false (below) stops GraphiQL saving the headers
  // editor and tab headers, but its history ("queries") and favorites still
  // record each run's headers. This wrapper strips them on every write, and
  // scrubs what an older page on this origin may have left behind.

  var STORAGE_PREFIX = "graphiql:";
  var HEADER_FREE_KEYS = [STORAGE_PREFIX + "queries", STORAGE_PREFIX + "favorites"];

  function stripHeaders(value) {
    var data;
    try {
      data = JSON.parse(value);
    } catch (err) {
      return value;
    }
    if (!data || typeof data !== "object") {
      return value;
    }
    Object.keys(data).forEach(function (listName) {
      if (Array.isArray(data[listName])) {
        data[listName].forEach(function (item) {
          if (item && typeof item === "object" && "headers" in item) {
            item.headers = "";
          }
        });
      }
    });
    return JSON.stringify(data);
  }

  function graphiqlKeys() {
    return Object.keys(window.localStorage).filter(function (key) {
      return key.indexOf(STORAGE_PREFIX) === 0;
    });
  }

  function makeHeaderFreeStorage() {
    var local;
    try {
      local = window.localStorage;
      local.getItem(STORAGE_PREFIX + "probe");
    } catch (err) {
      return null; // storage disabled: GraphiQL then keeps state in memory only
    }
    HEADER_FREE_KEYS.forEach(function (key) {
      var stored = local.getItem(key);
      if (stored) {
        local.setItem(key, stripHeaders(stored));
      }
    });
    return {
      getItem: function (key) {
        return local.getItem(key);
      },
      setItem: function (key, value) {
        local.setItem(key, HEADER_FREE_KEYS.indexOf(key) >= 0 ? stripHeaders(value) : value);
      },
      removeItem: function (key) {
        local.removeItem(key);
      },
      clear: function () {
        graphiqlKeys().forEach(function (key) {
          local.removeItem(key);
        });
      },
      get length() {
        return graphiqlKeys().length;
      },
    };
  }

  var storage = makeHeaderFreeStorage();

  // --- App ----------------------------------------------------------------------

  var explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

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
      storage: storage || undefined,
    });
  }

  var root = ReactDOM.createRoot(container);
  root.render(React.createElement(MobiusGraphiQL));
})();
