import { fireEvent, screen, within } from "@solidjs/testing-library";
import { RequestError } from "../lib/transport";
import { fakeServer, renderAt } from "../features/ops/testing";
import TokensPage from "./Tokens";

const token = (id: string, name: string, status = "active") => ({
  id,
  name,
  scope: "READ",
  createdAt: new Date().toISOString(),
  expiresAt: null,
  revokedAt: status === "revoked" ? new Date().toISOString() : null,
  status,
});

describe("API tokens page", () => {
  it("lists the user's tokens, never their values", async () => {
    const server = fakeServer();
    server.answer("ApiTokens", { apiTokens: [token("t1", "ci"), token("t2", "old", "revoked")] });
    renderAt("/tokens", "/tokens", TokensPage);
    const rows = within(await screen.findByRole("table", { name: "Your tokens" })).getAllByRole("row");
    expect(rows[1]).toHaveTextContent("ci");
    expect(rows[1]).toHaveTextContent("never");
    expect(within(rows[1]!).getByRole("button", { name: /Revoke/ })).toBeInTheDocument();
    expect(within(rows[2]!).queryByRole("button")).toBeNull();
  });

  it("shows a new token's value once, with the scope and expiry asked for", async () => {
    const server = fakeServer();
    let tokens = [token("t1", "ci")];
    server.answer("ApiTokens", () => ({ apiTokens: tokens }));
    server.answer("CreateApiToken", (variables: Record<string, unknown>) => {
      const made = { ...token("t3", String(variables.name)), scope: String(variables.scope) };
      tokens = [made, ...tokens];
      return { createApiToken: { token: "dnb_secretvalue", apiToken: made } };
    });
    renderAt("/tokens", "/tokens", TokensPage);
    await screen.findByRole("table", { name: "Your tokens" });
    fireEvent.input(screen.getByLabelText(/Name/), { target: { value: "deploy" } });
    fireEvent.change(screen.getByLabelText(/Scope/), { target: { value: "WRITE" } });
    fireEvent.change(screen.getByLabelText(/Expires/), { target: { value: "3" } });
    fireEvent.click(screen.getByRole("button", { name: "Create token" }));
    expect(await screen.findByLabelText("New token value")).toHaveTextContent("dnb_secretvalue");
    expect(server.asked("CreateApiToken")).toEqual([{ name: "deploy", scope: "WRITE", expiresInDays: null }]);
    expect(await screen.findByText("deploy", { selector: "td" })).toBeInTheDocument();
  });

  it("revokes a token and says so when the server refuses", async () => {
    const server = fakeServer();
    server.answer("ApiTokens", { apiTokens: [token("t1", "ci")] });
    server.answer("RevokeApiToken", new RequestError("no API token t1 of yours", "NOT_FOUND"));
    renderAt("/tokens", "/tokens", TokensPage);
    fireEvent.click(await screen.findByRole("button", { name: /Revoke/ }));
    expect(await screen.findByRole("alert")).toHaveTextContent("no API token t1 of yours");
    expect(server.asked("RevokeApiToken")).toEqual([{ id: "t1" }]);
  });
});
