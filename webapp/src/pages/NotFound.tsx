import { A } from "@solidjs/router";
import type { JSX } from "solid-js";

export default function NotFoundPage(): JSX.Element {
  return (
    <section class="empty-state">
      <h1>Page not found</h1>
      <p>
        Nothing lives at this address. <A href="/">Back to pipelines</A>
      </p>
    </section>
  );
}
