import { render, screen } from "@solidjs/testing-library";
import { MemoryRouter, Route } from "@solidjs/router";
import type { PermissionLevel } from "../../lib/api";
import { RunButton } from "./RunButton";

const renderButton = (permission: PermissionLevel | null) =>
  render(() => (
    <MemoryRouter>
      <Route path="*" component={() => <RunButton pipeline="web" permission={permission} branches={["main"]} />} />
    </MemoryRouter>
  ));

describe("Run button", () => {
  it.each(["WRITE", "ADMIN"] as const)("is there for %s permission", (permission) => {
    renderButton(permission);
    expect(screen.getByRole("button", { name: "Run" })).toBeEnabled();
  });

  it.each(["READ", null] as const)("is hidden for %s permission", (permission) => {
    renderButton(permission);
    expect(screen.queryByRole("button", { name: "Run" })).toBeNull();
  });
});
