import type { JSX } from "solid-js";

export default function PipelinesPage(): JSX.Element {
  return (
    <section>
      <h1>Pipelines</h1>
      <p class="muted">Coming in the next commit.</p>
    </section>
  );
}
