import type { JSX } from "solid-js";

export default function LoginPage(): JSX.Element {
  return (
    <section>
      <h1>Login</h1>
      <p class="muted">Coming in the next commit.</p>
    </section>
  );
}
