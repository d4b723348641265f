import { render, screen } from "@solidjs/testing-library";
import { MemoryRouter, createMemoryHistory } from "@solidjs/router";
import { AppRoutes } from "./App";
import { Layout } from "./components/Layout";

describe("App routes", () => {
  it("shows the not-found page for an unknown path", async () => {
    const history = createMemoryHistory();
    history.set({ value: "/no/such/page" });
    render(() => (
      <MemoryRouter history={history} root={Layout}>
        <AppRoutes />
      </MemoryRouter>
    ));
    expect(await screen.findByRole("heading", { name: "Page not found" })).toBeInTheDocument();
    expect(screen.getByRole("navigation", { name: "Main" })).toBeInTheDocument();
  });
});
