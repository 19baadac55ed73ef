"""The documents the differential tests send that generation rarely reaches, and the seeded ids
they and the generated documents draw from (a missing one of each kind too)."""

from __future__ import annotations

from harness import DASHBOARD_QUERY

ORG_IDS = ["org-1", "org-2", "org-7", "org-404"]
USER_IDS = ["user-1", "user-2", "user-77", "user-404"]
PROJECT_IDS = ["proj-1", "proj-2", "proj-9", "proj-404"]

HANDWRITTEN = {  # each may use $org, $user, $project, $first, $yes, $no and $orgId
    "dashboard": DASHBOARD_QUERY,
    "siblings fail beside a non-null failure": """query Siblings($org: ID!) {
      organization(id: $org) { id members(first: 0) { totalCount } projects(first: 0) { totalCount } billing { plan } }
      other: organization(id: "org-2") { name }
    }""",
    "two non-null siblings fail": """query TwoFail {
      organization(id: "org-1") { a: members(first: 0) { totalCount } b: members(first: -1) { totalCount } name }
    }""",
    "aliases and repeated fields": """query Aliases($org: ID!, $first: Int!) {
      a: organization(id: $org) { n1: name n2: name id m: members(first: $first) { c: totalCount nodes { i: id } } }
      b: organization(id: "org-2") { name name id }
      u: user(id: "user-1") { name alsoName: name o: organization { name } }
    }""",
    "named fragments on every level": """query Fragments($org: ID!, $first: Int!) {
      organization(id: $org) { ...Org }
    }
    fragment Org on Organization {
      id ...OrgName members(first: $first) { ...Users } projects(first: 2) { ...Projects }
    }
    fragment OrgName on Organization { name slug }
    fragment Users on UserConnection { totalCount pageInfo { ...Page } nodes { ...UserBits } }
    fragment Page on PageInfo { hasNextPage endCursor }
    fragment UserBits on User { id name organization { ...OrgName } }
    fragment Projects on ProjectConnection { nodes { ...Project } }
    fragment Project on Project { id name owner { ...UserBits } issues(first: 2) { nodes { ...Issue } } }
    fragment Issue on Issue { id title state assignee { ...UserBits } project { name } }""",
    "inline fragments and directives with variables": """query Inline($org: ID!, $yes: Boolean!, $no: Boolean!) {
      organization(id: $org) {
        ... on Organization { id }
        ... @include(if: $yes) { name members(first: 2) { nodes { ... on User { name } } } }
        ... @skip(if: $no) { billing { plan invoices(first: 2) { number } } }
        projects(first: 2) @include(if: $no) { nodes { name @skip(if: $yes) id } }
        slug @skip(if: $yes) @include(if: $no)
      }
    }""",
    "null propagating through non-null fields": """query Nulls($project: ID!, $first: Int!) {
      project(id: $project) { id name issues(first: $first) { totalCount nodes { title assignee { name } } } }
      organization(id: "org-1") { projects(first: 3) { nodes { id issues(first: $first) { totalCount } } } }
    }""",
    "failing list items": """query Items($user: ID!) {
      users(ids: [$user, "user-404", "user-2", "user-3"]) { id name email organization { name billing { plan } } }
      organization(id: "org-3") { members(first: 5) { nodes { id email phone organization { id } } } }
    }""",
    "introspection mixed in": """query Introspection($org: ID!) {
      __typename
      __schema { queryType { name } mutationType { name } }
      __type(name: "User") { name fields { name type { name kind ofType { name } } } }
      organization(id: $org) { __typename name members(first: 1) { __typename nodes { __typename id } } }
    }""",
    "typename everywhere": """query Typenames($org: ID!) {
      __typename
      organization(id: $org) {
        __typename id
        members(first: 2) { __typename pageInfo { __typename } nodes { __typename organization { __typename } } }
        billing { __typename invoices(first: 1) { __typename amountDue { __typename amount currency minorUnits } } }
        projects(first: 2) { __typename nodes { __typename owner { __typename } issues(first: 1) { __typename
          nodes { __typename project { __typename } } } } }
      }
    }""",
    "federation entities": """query Entities {
      _entities(representations: [
        {__typename: "User", id: "user-1"}, {__typename: "Organization", id: "org-2"},
        {__typename: "Project", id: "proj-1"}, {__typename: "User", id: "user-404"}
      ]) {
        __typename
        ... on User { id name organization { name } }
        ... on Organization { id name members(first: 2) { nodes { name } } }
        ... on Project { id name owner { name } issues(first: 2) { nodes { title } } }
      }
      _service { __typename }
    }""",
    "deep nesting across upstreams": """query Deep($user: ID!) {
      user(id: $user) { organization { members(first: 2) { nodes { organization { projects(first: 1) {
        nodes { owner { organization { billing { invoices(first: 1) { amountDue { amount } } } } } } } } } } } }
    }""",
    "issues by state with variables": """query Issues($project: ID!, $yes: Boolean!) {
      project(id: $project) {
        open: issues(first: 3, state: OPEN) { nodes { id state assignee @include(if: $yes) { name } } }
        closed: issues(first: 3, state: CLOSED) { totalCount nodes { id state } }
        owner { name email }
      }
    }""",
    "viewer and health": """query Viewer {
      viewer { id name email organization { name } }
      upstreams { name url state }
      cacheStats { enabled status }
    }""",
}
