import type { JSX } from "solid-js";

export default function PipelinePage(): JSX.Element {
  return (
    <section>
      <h1>Pipeline</h1>
      <p class="muted">Coming in the next commit.</p>
    </section>
  );
}
