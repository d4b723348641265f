import { For, Show, type JSX } from "solid-js";
import { useLocation } from "@solidjs/router";
import { loginUrl } from "../../lib/transport";
import { useViewer } from "./session";

/** The header's right side: the user and their teams with a logout button, or "Log in". */
export function ViewerMenu(): JSX.Element {
  const viewer = useViewer();
  const location = useLocation();
  const here = (): string => (location.pathname === "/login" ? "/" : `${location.pathname}${location.search}${location.hash}`);
  return (
    <div class="viewer">
      <Show when={!viewer.loading} fallback={<span class="muted">…</span>}>
        <Show
          when={viewer()}
          fallback={
            <a class="btn btn-small" href={loginUrl(here())}>
              Log in
            </a>
          }
        >
          {(v) => (
            <>
              <span class="viewer-name" title={v().email}>
                {v().name}
              </span>
              <span class="teams" aria-label="Teams">
                <For each={v().teams}>{(team) => <span class="team">{team}</span>}</For>
                <Show when={v().globalAdmin}>
                  <span class="team">global admin</span>
                </Show>
              </span>
              <form method="post" action={`/auth/logout?next=${encodeURIComponent("/login?out=1")}`}>
                <button type="submit" class="btn btn-small">
                  Log out
                </button>
              </form>
            </>
          )}
        </Show>
      </Show>
    </div>
  );
}
