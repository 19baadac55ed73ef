// A hand-written graphql-yoga + DataLoader server of the Mobius schema subset the benchmark uses:
// what a strong Node team would write by hand, with Mobius's request plan (bench/README.md, "The
// peers"). Per-request loaders batch the keys of one tick; `organization(id)` starts its members,
// billing customer and projects reads with its own (read ahead); a projects page brings the issue
// pages its selection asks for in the same GraphQL request (pushdown). Upstreams are called through
// one keep-alive `node:http` agent. Identity uses OAuth2 client credentials, billing signs every
// request (HMAC), projects takes a bearer token.
//
// Environment: PORT, WORKERS (cluster workers), IDENTITY_URL, BILLING_URL, PROJECTS_URL and the
// sandbox credentials (defaults match `mobius sandbox`).
import cluster from 'node:cluster';
import { createHash, createHmac } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import DataLoader from 'dataloader';
import { GraphQLIncludeDirective, GraphQLSkipDirective, getArgumentValues, getDirectiveValues } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';

const env = process.env;
const PORT = Number(env.PORT ?? 4001);
const WORKERS = Number(env.WORKERS ?? 1);
const IDENTITY = new URL(env.IDENTITY_URL ?? 'http://127.0.0.1:8101');
const BILLING = new URL(env.BILLING_URL ?? 'http://127.0.0.1:8102');
const PROJECTS = new URL(env.PROJECTS_URL ?? 'http://127.0.0.1:8103');
const CLIENT_ID = env.IDENTITY_CLIENT_ID ?? 'mobius-gateway';
const CLIENT_SECRET = env.IDENTITY_CLIENT_SECRET ?? 'sandbox-identity-secret';
const BILLING_KEY = env.BILLING_API_KEY ?? 'sk_sandbox_mobius';
const BILLING_SECRET = env.BILLING_SIGNING_SECRET ?? 'sandbox-billing-signing-secret';
const PROJECTS_TOKEN = env.PROJECTS_TOKEN ?? 'sandbox-projects-token';

class UpstreamError extends Error {}

// --- one keep-alive agent for every upstream; bodies read whole and parsed once ---
const agent = new Agent({ keepAlive: true, maxSockets: 128 });

function call(base, method, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request({ host: base.hostname, port: base.port, method, path, headers, agent }, (res) => {
      const parts = [];
      res.on('data', (part) => parts.push(part));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode, ok: res.statusCode >= 200 && res.statusCode < 300, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// --- identity: OAuth2 client credentials, one token shared by all requests, refreshed on 401 ---
let tokenPromise = null;
function identityToken(refresh = false) {
  if (refresh || tokenPromise === null) {
    const basic = Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64');
    const body = 'grant_type=client_credentials';
    tokenPromise = call(IDENTITY, 'POST', '/oauth/token', {
      authorization: `Basic ${basic}`,
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
    }, body).then((r) => {
      if (!r.ok) throw new UpstreamError(`identity token: ${r.status}`);
      return r.json().access_token;
    });
    tokenPromise.catch(() => { tokenPromise = null; });
  }
  return tokenPromise;
}

async function identityGet(path) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const token = await identityToken(attempt > 0);
    const r = await call(IDENTITY, 'GET', path, { authorization: `Bearer ${token}` });
    if (r.status === 401 && attempt === 0) continue;
    if (r.status === 404) return null;
    if (!r.ok) throw new UpstreamError(`identity: ${r.status}`);
    return r.json();
  }
  throw new UpstreamError('identity: unauthorized');
}

// --- billing: API key + HMAC-SHA256 signature over t.METHOD.path.sha256(body) ---
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
async function billingGet(path) {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', BILLING_SECRET).update(`${t}.GET.${path}.${EMPTY_SHA256}`).digest('hex');
  const r = await call(BILLING, 'GET', path, { authorization: `Bearer ${BILLING_KEY}`, 'mobius-signature': `t=${t},v1=${v1}` });
  if (!r.ok) throw new UpstreamError(`billing: ${r.status}`);
  return r.json();
}

// --- projects: GraphQL with a bearer token ---
async function projectsQuery(query, variables) {
  const body = JSON.stringify({ query, variables });
  const r = await call(PROJECTS, 'POST', '/graphql', {
    authorization: `Bearer ${PROJECTS_TOKEN}`,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  }, body);
  if (!r.ok) throw new UpstreamError(`projects: ${r.status}`);
  const data = r.json().data;
  if (!data) throw new UpstreamError('projects: no data');
  return data;
}

// --- the client's selection: which sub-fields (through fragments, @skip/@include) a field asks for ---
function included(node, variables) {
  const skip = getDirectiveValues(GraphQLSkipDirective, node, variables);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node, variables);
  return include?.if !== false;
}

function subfields(fieldNodes, info, out = []) {
  const visit = (selectionSet) => {
    for (const node of selectionSet?.selections ?? []) {
      if (!included(node, info.variableValues)) continue;
      if (node.kind === 'Field') out.push(node);
      else if (node.kind === 'InlineFragment') visit(node.selectionSet);
      else if (node.kind === 'FragmentSpread') visit(info.fragments[node.name.value]?.selectionSet);
    }
  };
  for (const node of fieldNodes) visit(node.selectionSet);
  return out;
}

function argsOf(type, node, info) {
  return getArgumentValues(type.getFields()[node.name.value], node, info.variableValues);
}

// The distinct issue pages asked below a projects field's `nodes`, as [first, after] pairs.
function issuePages(projectsNodes, info) {
  const project = info.schema.getType('Project');
  const nodes = subfields(projectsNodes, info).filter((n) => n.name.value === 'nodes');
  const pages = new Map();
  for (const node of subfields(nodes, info)) {
    if (node.name.value !== 'issues') continue;
    const { first, after } = argsOf(project, node, info);
    pages.set(JSON.stringify([first, after ?? null]), [first, after ?? null]);
  }
  return [...pages.values()];
}

function projectsKey(orgId, { first, after }, projectsNodes, info) {
  return JSON.stringify([orgId, first, after ?? null, issuePages(projectsNodes, info)]);
}

// Starts the reads an organization's selection needs from nothing but its id, in the same tick as
// the organization's own read, so they share its round trip.
function readAhead(orgId, info, loaders) {
  const organization = info.schema.getType('Organization');
  const byResponseKey = new Map();
  for (const node of subfields(info.fieldNodes, info)) {
    const key = node.alias?.value ?? node.name.value;
    byResponseKey.set(key, [...(byResponseKey.get(key) ?? []), node]);
  }
  for (const nodes of byResponseKey.values()) {
    const name = nodes[0].name.value;
    if (name === 'members') {
      const { first, after } = argsOf(organization, nodes[0], info);
      loaders.members.load(JSON.stringify([orgId, first, after ?? null])).catch(() => null);
    } else if (name === 'billing') {
      loaders.customers.load(orgId).catch(() => null);
    } else if (name === 'projects') {
      loaders.projectsByOrg.load(projectsKey(orgId, argsOf(organization, nodes[0], info), nodes, info)).catch(() => null);
    }
  }
}

const q = encodeURIComponent;
const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';
const ISSUE_PAGE = `totalCount ${PAGE_INFO} nodes { id title state assigneeId }`;

function chunks(keys, size) {
  const out = [];
  for (let i = 0; i < keys.length; i += size) out.push(keys.slice(i, i + size));
  return out;
}

function buildLoaders() {
  const users = new DataLoader(async (ids) => {
    const found = new Map();
    await Promise.all(chunks(ids, 100).map(async (part) => {
      const page = await identityGet(`/v1/users?ids=${part.map(q).join(',')}`);
      for (const u of page.data) found.set(u.id, u);
    }));
    return ids.map((id) => found.get(id) ?? null);
  }, { maxBatchSize: 100 });
  const orgs = new DataLoader(async (ids) => {
    const page = await identityGet(`/v1/orgs?ids=${ids.map(q).join(',')}`);
    const found = new Map(page.data.map((o) => [o.id, o]));
    return ids.map((id) => found.get(id) ?? null);
  });
  const members = new DataLoader(async (keys) => Promise.all(keys.map(async (key) => {
    const [orgId, first, after] = JSON.parse(key);
    const page = await identityGet(`/v1/orgs/${q(orgId)}/members?limit=${first}${after ? `&cursor=${q(after)}` : ''}`);
    if (page) for (const u of page.data) users.prime(u.id, u);
    return page;
  }).map((p) => p.catch((e) => e))));
  const customers = new DataLoader(async (orgIds) => Promise.all(orgIds.map((orgId) =>
    billingGet(`/v1/customers?org_id=${q(orgId)}`).then((p) => p.data[0] ?? null, (e) => e))));
  const subscriptions = new DataLoader(async (ids) => Promise.all(ids.map((id) =>
    billingGet(`/v1/subscriptions?customer=${q(id)}`).then((p) => p.data[0] ?? null, (e) => e))));
  const invoices = new DataLoader(async (keys) => Promise.all(keys.map((key) => {
    const [customer, first] = JSON.parse(key);
    return billingGet(`/v1/invoices?customer=${q(customer)}&limit=${first}`).then((p) => p.data, (e) => e);
  })));
  const issues = new DataLoader(async (keys) => {
    const vars = {};
    const fields = keys.map((key, i) => {
      const [projectId, first, after] = JSON.parse(key);
      Object.assign(vars, { [`p${i}`]: projectId, [`f${i}`]: first, [`a${i}`]: after });
      return `k${i}: node(id: $p${i}) { ... on Project { issues(first: $f${i}, after: $a${i}) { ${ISSUE_PAGE} } } }`;
    });
    const decl = keys.map((_, i) => `$p${i}: ID!, $f${i}: Int, $a${i}: String`).join(', ');
    const data = await projectsQuery(`query I(${decl}) { ${fields.join(' ')} }`, vars);
    return keys.map((_, i) => data[`k${i}`]?.issues ?? null);
  });
  // One aliased projects field per key, each with the issue pages its selection asks for nested
  // inside; each project keeps its pages, so `Project.issues` answers them without waiting a tick
  // (a primed DataLoader key would answer one batch later, after the owners' batch has left).
  const projectsByOrg = new DataLoader(async (keys) => {
    const vars = {};
    const fields = keys.map((key, i) => {
      const [orgId, first, after, pages] = JSON.parse(key);
      Object.assign(vars, { [`o${i}`]: orgId, [`f${i}`]: first, [`a${i}`]: after });
      const nested = pages.map(([issuesFirst, issuesAfter], j) =>
        `i${j}: issues(first: ${JSON.stringify(issuesFirst)}, after: ${JSON.stringify(issuesAfter)}) { ${ISSUE_PAGE} }`);
      return `k${i}: projects(orgId: $o${i}, first: $f${i}, after: $a${i}) { totalCount ${PAGE_INFO} nodes { id name ownerId state ${nested.join(' ')} } }`;
    });
    const decl = keys.map((_, i) => `$o${i}: ID!, $f${i}: Int, $a${i}: String`).join(', ');
    const data = await projectsQuery(`query P(${decl}) { ${fields.join(' ')} }`, vars);
    return keys.map((key, i) => {
      const page = data[`k${i}`];
      const pages = JSON.parse(key)[3];
      for (const project of page?.nodes ?? []) {
        project.issuePages = new Map(pages.map((args, j) => [JSON.stringify(args), project[`i${j}`]]));
      }
      return page;
    });
  });
  return { users, orgs, members, customers, subscriptions, invoices, projectsByOrg, issues };
}

const typeDefs = /* GraphQL */ `
  scalar Date
  scalar Decimal
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type User { id: ID! name: String! updatedAt: String! etag: String! organization: Organization }
  type UserConnection { totalCount: Int! pageInfo: PageInfo! nodes: [User!]! }
  type Money { amount: Decimal! minorUnits: Int! currency: String! }
  type Invoice { id: ID! number: String! amountDue: Money! status: String! dueDate: Date }
  type BillingAccount { plan: String status: String seats: Int invoices(first: Int! = 10): [Invoice!]! }
  enum IssueState { OPEN CLOSED }
  enum ProjectState { ACTIVE ARCHIVED }
  type Issue { id: ID! title: String! state: IssueState! assignee: User }
  type IssueConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Issue!]! }
  type Project { id: ID! name: String! state: ProjectState! owner: User issues(first: Int! = 10, after: String): IssueConnection! }
  type ProjectConnection { totalCount: Int! pageInfo: PageInfo! nodes: [Project!]! }
  type Organization {
    id: ID! name: String! slug: String
    members(first: Int! = 50, after: String): UserConnection!
    billing: BillingAccount
    projects(first: Int! = 20, after: String): ProjectConnection
  }
  type Query {
    organization(id: ID!): Organization
    user(id: ID!): User
    users(ids: [ID!]!): [User]!
  }
`;

const ZERO_DECIMAL = new Set(['jpy', 'krw', 'vnd', 'clp']);

const resolvers = {
  Query: {
    organization: (_, { id }, { loaders }, info) => {
      readAhead(id, info, loaders);
      return loaders.orgs.load(id);
    },
    user: (_, { id }, { loaders }) => loaders.users.load(id),
    users: (_, { ids }, { loaders }) => loaders.users.loadMany(ids).then((r) => r.map((u) => (u instanceof Error ? null : u))),
  },
  User: {
    updatedAt: (u) => u.updated_at,
    organization: (u, _, { loaders }) => loaders.orgs.load(u.org_id),
  },
  Organization: {
    members: async (org, { first, after }, { loaders }) => {
      const page = await loaders.members.load(JSON.stringify([org.id, first, after ?? null]));
      if (!page) return { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] };
      return {
        totalCount: page.total_count,
        pageInfo: { hasNextPage: page.next_cursor != null, endCursor: page.next_cursor ?? null },
        nodes: page.data,
      };
    },
    billing: async (org, _, { loaders }) => {
      const customer = await loaders.customers.load(org.id);
      return customer ? { customerId: customer.id } : null;
    },
    projects: (org, args, { loaders }, info) => loaders.projectsByOrg.load(projectsKey(org.id, args, info.fieldNodes, info)),
  },
  BillingAccount: {
    plan: (a, _, { loaders }) => loaders.subscriptions.load(a.customerId).then((s) => s?.plan ?? null),
    status: (a, _, { loaders }) => loaders.subscriptions.load(a.customerId).then((s) => s?.status.toUpperCase() ?? null),
    seats: (a, _, { loaders }) => loaders.subscriptions.load(a.customerId).then((s) => s?.seats ?? null),
    invoices: (a, { first }, { loaders }) => loaders.invoices.load(JSON.stringify([a.customerId, first])),
  },
  Invoice: {
    status: (i) => i.status.toUpperCase(),
    amountDue: (i) => {
      const exponent = ZERO_DECIMAL.has(i.currency.toLowerCase()) ? 0 : 2;
      return { amount: (i.amount_due / 10 ** exponent).toFixed(exponent), minorUnits: i.amount_due, currency: i.currency.toUpperCase() };
    },
    dueDate: (i) => (i.due_date ? new Date(i.due_date * 1000).toISOString().slice(0, 10) : null),
  },
  Project: {
    owner: (p, _, { loaders }) => loaders.users.load(p.ownerId),
    issues: async (p, { first, after }, { loaders }) => {
      const args = [first, after ?? null];
      const page = p.issuePages?.get(JSON.stringify(args)) ?? await loaders.issues.load(JSON.stringify([p.id, ...args]));
      return page ?? { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] };
    },
  },
  Issue: {
    assignee: (i, _, { loaders }) => (i.assigneeId ? loaders.users.load(i.assigneeId) : null),
  },
};

function serve() {
  const yoga = createYoga({
    schema: createSchema({ typeDefs, resolvers }),
    context: () => ({ loaders: buildLoaders() }),
    graphiql: false,
    logging: false,
    maskedErrors: true,
  });
  createServer(yoga).listen(PORT, '127.0.0.1');
}

if (WORKERS > 1 && cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
} else {
  serve();
}
