import { A, type RouteSectionProps } from "@solidjs/router";
import { Suspense, type JSX } from "solid-js";
import { ViewerMenu } from "../features/session/ViewerMenu";
import { Loading } from "./States";

export function Layout(props: RouteSectionProps): JSX.Element {
  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <A href="/" class="brand" end>
          Danube
        </A>
        <nav class="topnav" aria-label="Main">
          <A href="/" end>
            Pipelines
          </A>
          <A href="/queue">Queue</A>
          <A href="/audit">Audit</A>
          <A href="/admin">Admin</A>
          <A href="/tokens">Tokens</A>
        </nav>
        <ViewerMenu />
      </header>
      <main id="main" class="content" tabindex="-1">
        <Suspense fallback={<Loading />}>{props.children}</Suspense>
      </main>
    </div>
  );
}
