// Hive Gateway configuration: the join that makes the composed supergraph answer the Mobius
// dashboard with the same shape and data. Identity and billing fields come from the OpenAPI
// subgraphs (snake_case, lower-case enums), so the Mobius-shaped types are added here and resolved
// through the gateway's in-context SDK; user look-ups are batched by key (one getUsers per tick).
import { defineConfig } from '@graphql-hive/gateway';

const typeDefs = /* GraphQL */ `
  type Organization {
    id: ID!
    name: String!
    slug: String
    members(first: Int! = 50, after: String): UserConnection!
    billing: BillingAccount
    projects(first: Int! = 20, after: String): ProjectConnection
  }
  type User { id: ID! name: String! }
  type UserConnection { totalCount: Int! pageInfo: PageInfo! nodes: [User!]! }
  type Money { amount: String! minorUnits: Int! currency: String! }
  type Invoice { id: ID! number: String! amountDue: Money! status: String! dueDate: String }
  type BillingAccount { plan: String status: String seats: Int invoices(first: Int! = 10): [Invoice!]! }
  extend type Project { owner: User }
  extend type Issue { assignee: User }
  extend type Query {
    organization(id: ID!): Organization
    user(id: ID!): User
    users(ids: [ID!]!): [User]!
  }
`;

const ZERO_DECIMAL = new Set(['jpy', 'krw', 'vnd', 'clp']);
const USERS_SELECTION = '{ ... on Identity_getUsers_200_response { data { id name } } }';

function userByKey(id, context, info) {
  return context.identity.Query.getUsers({
    key: id,
    argsFromKeys: (ids) => ({ ids: ids.join(',') }),
    valuesFromResults: (result, ids) => {
      const found = new Map((result?.data ?? []).map((u) => [u.id, u]));
      return ids.map((key) => found.get(key) ?? null);
    },
    selectionSet: USERS_SELECTION,
    context,
    info,
  });
}

const resolvers = {
  Query: {
    organization: (root, { id }, context, info) =>
      context.identity.Query.getOrg({
        root,
        args: { id },
        selectionSet: '{ ... on Identity_Org { id name slug } }',
        context,
        info,
      }).then((org) => (org?.id ? org : null)),
    user: (root, { id }, context, info) => userByKey(id, context, info),
    users: (root, { ids }, context, info) => Promise.all(ids.map((id) => userByKey(id, context, info))),
  },
  Organization: {
    members: async (org, { first, after }, context, info) => {
      const page = await context.identity.Query.getOrgMembers({
        root: org,
        args: { id: org.id, limit: first, cursor: after ?? undefined },
        selectionSet: '{ ... on Identity_MembersPage { total_count next_cursor data { id name } } }',
        context,
        info,
      });
      if (!page?.data) return { totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] };
      return {
        totalCount: page.total_count,
        pageInfo: { hasNextPage: page.next_cursor != null, endCursor: page.next_cursor ?? null },
        nodes: page.data,
      };
    },
    billing: async (org, _args, context, info) => {
      const customers = await context.billing.Query.listCustomers({
        root: org,
        args: { org_id: org.id },
        selectionSet: '{ ... on Billing_listCustomers_200_response { data { id } } }',
        context,
        info,
      });
      const customer = customers?.data?.[0];
      if (!customer) return null;
      const subscription = context.billing.Query.listSubscriptions({
        root: org,
        args: { customer: customer.id },
        selectionSet: '{ ... on Billing_listSubscriptions_200_response { data { plan status seats } } }',
        context,
        info,
      }).then((page) => page?.data?.[0] ?? null);
      return { customerId: customer.id, subscription };
    },
    projects: (org, { first, after }, context, info) =>
      context.projects.Query.projects({ root: org, args: { orgId: org.id, first, after }, context, info }),
  },
  BillingAccount: {
    plan: (account) => account.subscription.then((s) => s?.plan ?? null),
    status: (account) => account.subscription.then((s) => s?.status.toUpperCase() ?? null),
    seats: (account) => account.subscription.then((s) => s?.seats ?? null),
    invoices: async (account, { first }, context, info) => {
      const page = await context.billing.Query.listInvoices({
        root: account,
        args: { customer: account.customerId, limit: first },
        selectionSet:
          '{ ... on Billing_listInvoices_200_response { data { id number amount_due currency status due_date } } }',
        context,
        info,
      });
      return page?.data ?? [];
    },
  },
  Invoice: {
    status: (invoice) => invoice.status.toUpperCase(),
    amountDue: (invoice) => {
      const exponent = ZERO_DECIMAL.has(invoice.currency.toLowerCase()) ? 0 : 2;
      return {
        amount: (invoice.amount_due / 10 ** exponent).toFixed(exponent),
        minorUnits: invoice.amount_due,
        currency: invoice.currency.toUpperCase(),
      };
    },
    dueDate: (invoice) => (invoice.due_date ? new Date(invoice.due_date * 1000).toISOString().slice(0, 10) : null),
  },
  Project: {
    owner: {
      selectionSet: '{ ownerId }',
      resolve: (project, _args, context, info) => userByKey(project.ownerId, context, info),
    },
  },
  Issue: {
    assignee: {
      selectionSet: '{ assigneeId }',
      resolve: (issue, _args, context, info) => (issue.assigneeId ? userByKey(issue.assigneeId, context, info) : null),
    },
  },
};

export const gatewayConfig = defineConfig({
  additionalTypeDefs: typeDefs,
  additionalResolvers: resolvers,
  logging: 'error',
});
