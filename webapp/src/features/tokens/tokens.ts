/**
 * The signed-in user's personal API tokens (api/graphql/tokens.py): listed without their
 * values, created (the value is in that one answer, never again) and revoked.
 */
import { gql } from "../../lib/transport";

export type TokenScope = "READ" | "WRITE";

export interface ApiToken {
  id: string;
  name: string;
  scope: TokenScope;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  status: string;
}

const FIELDS = "id name scope createdAt expiresAt revokedAt status";

export const API_TOKENS_QUERY = `query ApiTokens { apiTokens { ${FIELDS} } }`;
export const CREATE_API_TOKEN = `mutation CreateApiToken($name: String!, $scope: ApiTokenScope!, $expiresInDays: Int) {
  createApiToken(name: $name, scope: $scope, expiresInDays: $expiresInDays) { token apiToken { ${FIELDS} } } }`;
export const REVOKE_API_TOKEN = `mutation RevokeApiToken($id: ID!) { revokeApiToken(id: $id) { ${FIELDS} } }`;

export const TOKEN_OPERATIONS = { API_TOKENS_QUERY, CREATE_API_TOKEN, REVOKE_API_TOKEN };

export async function fetchTokens(): Promise<ApiToken[]> {
  return (await gql<{ apiTokens: ApiToken[] }>(API_TOKENS_QUERY)).apiTokens;
}

/** ``expiresInDays`` null: a token that does not expire. */
export async function createToken(
  name: string,
  scope: TokenScope,
  expiresInDays: number | null,
): Promise<{ token: string; apiToken: ApiToken }> {
  const answer = await gql<{ createApiToken: { token: string; apiToken: ApiToken } }>(CREATE_API_TOKEN, {
    name,
    scope,
    expiresInDays,
  });
  return answer.createApiToken;
}

export async function revokeToken(id: string): Promise<ApiToken> {
  return (await gql<{ revokeApiToken: ApiToken }>(REVOKE_API_TOKEN, { id })).revokeApiToken;
}
