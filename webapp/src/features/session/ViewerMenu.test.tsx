import { render, screen } from "@solidjs/testing-library";
import { MemoryRouter, Route, createMemoryHistory } from "@solidjs/router";
import { setTransport } from "../../lib/transport";
import { resetViewer } from "./session";
import { ViewerMenu } from "./ViewerMenu";

function withViewer(viewer: unknown) {
  resetViewer();
  setTransport({
    request: async <T,>(): Promise<T> => ({ viewer }) as T,
    subscribe: () => () => {},
    getText: async () => "",
  });
  const history = createMemoryHistory();
  history.set({ value: "/runs/r1?job=j#L3" });
  render(() => (
    <MemoryRouter history={history}>
      <Route path="*" component={ViewerMenu} />
    </MemoryRouter>
  ));
}

afterEach(() => {
  setTransport(undefined);
  resetViewer();
});

describe("the header's user menu", () => {
  it("shows the user, their teams and a logout that ends on the login page", async () => {
    withViewer({ name: "alice", email: "alice@example.test", teams: ["web", "ops"], globalAdmin: false });
    expect(await screen.findByText("alice")).toBeInTheDocument();
    expect(screen.getByText("web")).toBeInTheDocument();
    expect(screen.getByText("ops")).toBeInTheDocument();
    const logout = screen.getByRole("button", { name: "Log out" }).closest("form");
    expect(logout).toHaveAttribute("method", "post");
    expect(logout?.getAttribute("action")).toBe("/auth/logout?next=%2Flogin%3Fout%3D1");
  });

  it("offers to log in, coming back to the page shown", async () => {
    withViewer(null);
    const login = await screen.findByRole("link", { name: "Log in" });
    expect(login).toHaveAttribute("href", `/auth/login?next=${encodeURIComponent("/runs/r1?job=j#L3")}`);
  });
});
