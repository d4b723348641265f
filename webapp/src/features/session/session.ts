/** Who is logged in (GraphQL `viewer`), read once per page load. */
import { createResource, createRoot, type Resource } from "solid-js";
import { fetchViewer, type Viewer } from "../../lib/api";

let viewer: Resource<Viewer | null> | undefined;
let refetchViewer: (() => void) | undefined;

export function useViewer(): Resource<Viewer | null> {
  if (!viewer) {
    createRoot(() => {
      const [resource, { refetch }] = createResource(async () => {
        try {
          return await fetchViewer();
        } catch {
          return null; // the header shows "Log in"; pages show their own errors
        }
      });
      viewer = resource;
      refetchViewer = () => void refetch();
    });
  }
  return viewer!;
}

export function resetViewer(): void {
  viewer = undefined;
  refetchViewer = undefined;
}

export function reloadViewer(): void {
  refetchViewer?.();
}
