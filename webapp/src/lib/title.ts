import { createEffect } from "solid-js";

/** The browser tab's title follows the page (`… · Danube`). */
export function useTitle(title: () => string): void {
  createEffect(() => {
    const t = title();
    document.title = t ? `${t} · Danube` : "Danube";
  });
}
