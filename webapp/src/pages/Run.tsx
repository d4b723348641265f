import type { JSX } from "solid-js";

export default function RunPage(): JSX.Element {
  return (
    <section>
      <h1>Run</h1>
      <p class="muted">Coming in the next commit.</p>
    </section>
  );
}
