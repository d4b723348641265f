import { Router, Route } from "@solidjs/router";
import { lazy, type JSX } from "solid-js";
import { Layout } from "./components/Layout";

const Pipelines = lazy(() => import("./pages/Pipelines"));
const Pipeline = lazy(() => import("./pages/Pipeline"));
const Run = lazy(() => import("./pages/Run"));
const Login = lazy(() => import("./pages/Login"));
const Queue = lazy(() => import("./pages/Queue"));
const Tokens = lazy(() => import("./pages/Tokens"));
const Audit = lazy(() => import("./pages/Audit"));
const Admin = lazy(() => import("./pages/Admin"));
const NotFound = lazy(() => import("./pages/NotFound"));

/** Every page of the app; the server answers index.html for each of these paths. */
export function AppRoutes(): JSX.Element {
  return (
    <>
      <Route path="/" component={Pipelines} />
      <Route path="/login" component={Login} />
      <Route path="/pipelines/:name" component={Pipeline} />
      <Route path="/runs/:id" component={Run} />
      <Route path="/queue" component={Queue} />
      <Route path="/audit" component={Audit} />
      <Route path="/admin" component={Admin} />
      <Route path="/tokens" component={Tokens} />
      <Route path="*404" component={NotFound} />
    </>
  );
}

export function App(): JSX.Element {
  return (
    <Router root={Layout}>
      <AppRoutes />
    </Router>
  );
}
