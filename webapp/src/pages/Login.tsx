import { A, useSearchParams } from "@solidjs/router";
import { Show, type JSX } from "solid-js";
import { loginUrl } from "../lib/transport";
import { useViewer } from "../features/session/session";
import { useTitle } from "../lib/title";

/** Where to send someone who must log in: the server's login flow, back to `next`. */
export default function LoginPage(): JSX.Element {
  const [params] = useSearchParams();
  const viewer = useViewer();
  useTitle(() => "Log in");
  const next = (): string => {
    const given = typeof params.next === "string" ? params.next : "/";
    return given.startsWith("/") && !given.startsWith("//") ? given : "/";
  };
  return (
    <section class="card login-card">
      <div class="card-body">
        <h1>Log in to Danube</h1>
        <Show
          when={viewer()}
          fallback={
            <>
              <Show when={params.out}>
                <p role="status">
                  <strong>You are logged out.</strong>
                </p>
              </Show>
              <p class="muted">You log in through this server's identity provider, then come back here.</p>
              <a class="btn btn-primary" href={loginUrl(next())}>
                Log in
              </a>
            </>
          }
        >
          {(v) => (
            <p>
              You are logged in as <strong>{v().name}</strong>. <A href={next()}>Continue</A>
            </p>
          )}
        </Show>
      </div>
    </section>
  );
}
