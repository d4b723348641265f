import type { JSX } from "solid-js";

// Stub owned by the i16-serve branch from here on (see /work/briefs/seams.md):
// it fills this page; i16-ui does not edit this file again.
export default function AuditPage(): JSX.Element {
  return (
    <section>
      <h1>Audit</h1>
      <p class="muted">Not built yet.</p>
    </section>
  );
}
