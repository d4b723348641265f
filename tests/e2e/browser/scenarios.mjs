// The end-to-end scenarios, each a function of { page, context, shot, url, out, ... }
// that throws when what a user would see is not there. Role-based locators: what a
// person reads on the screen, not CSS classes.

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: "visible" });
  } catch (error) {
    throw new Error(`not on screen: ${what} (${error.message.split("\n")[0]})`);
  }
}

async function graphql(page, query, variables = {}) {
  const response = await page.request.post("/graphql", { data: { query, variables } });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Log in through the server's login flow (the built-in issuer's form), landing on `next`. */
async function login(page, user, password, next = "/") {
  await page.goto(`/auth/login?next=${encodeURIComponent(next)}`);
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL((url) => url.pathname + url.search === next);
}

/**
 * Someone not logged in opens the URL `danube up` prints, is sent to log in, logs in
 * with the form, and sees the pipelines with their name and teams in the header.
 */
export async function logIn({ page, shot, user, password }) {
  const response = await page.goto("/");
  await expectVisible(page.locator('input[name="username"]'), "the login form");
  await shot("login-form");
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expectVisible(page.getByRole("heading", { name: "Pipelines" }), "the pipelines page");
  await expectVisible(page.getByRole("link", { name: "live" }), "the configured pipeline");
  const viewer = await page.locator(".viewer").innerText();
  await shot("pipelines");
  // A page's own URL opens that page (SPA fallback), and the app's links navigate.
  const deep = await page.goto("/queue");
  await expectVisible(page.getByRole("heading", { name: "Queue" }), "the queue page");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await expectVisible(page.getByRole("heading", { name: "Audit" }), "the audit page");
  await shot("audit");
  const navigatedTo = new URL(page.url()).pathname;
  // A narrow (phone) width: the pages still fit.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflows = {};
  for (const path of ["/", "/queue", "/audit", "/admin"]) {
    await page.goto(path);
    await page.waitForLoadState("networkidle");
    const name = path === "/" ? "pipelines" : path.slice(1);
    await shot(`narrow-${name}`);
    overflows[name] = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  }
  return { overflows, status: response.status(), deepStatus: deep.status(), title: await page.title(), viewer, path: navigatedTo };
}

/** Start a run from the pipeline page's Run button; the run page it lands on (id). */
async function runFromPipelinePage(page, pipeline) {
  await page.goto(`/pipelines/${pipeline}`);
  await page.getByLabel("Branch to run").fill("main");
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.waitForURL(/\/runs\/[0-9a-f]{32}/);
  return new URL(page.url()).pathname.split("/").pop();
}

function logLine(page, text) {
  return page.getByRole("region", { name: "Log output" }).or(page.getByLabel("Log output")).getByText(text, { exact: true });
}

/**
 * Trigger a run with the Run button and watch its log arrive while it runs, to the end;
 * then its artifact is listed with its size.
 */
export async function triggerAndWatch({ page, shot, user, password }) {
  await login(page, user, password, "/pipelines/live");
  const runId = await runFromPipelinePage(page, "live");
  const started = Date.now();
  await expectVisible(logLine(page, "line 2"), "the first log lines");
  const firstAt = Date.now() - started;
  const endedEarly = await page.getByText("End of log.").isVisible();
  await shot("run-live");
  await expectVisible(logLine(page, "line 25"), "the last counted line");
  await page.getByText("End of log.").waitFor({ timeout: 60000 });
  const lastAt = Date.now() - started;
  // The run page does not refresh its job details (state, steps, artifacts) when the
  // job ends (i16-ui's Run page; reported): a reload shows them.
  await page.reload();
  await expectVisible(page.getByRole("link", { name: "report.txt" }), "the artifact link");
  await shot("run-finished");
  const header = await page.locator(".page-header").first().innerText();
  return { runId, firstAt, lastAt, endedEarly, header };
}

/** Download a run's artifact from its page; the bytes. */
export async function downloadArtifact({ page, user, password, runId }) {
  await login(page, user, password, `/runs/${runId}`);
  const link = page.getByRole("link", { name: "report.txt" });
  await expectVisible(link, "the artifact link");
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const path = await download.path();
  const { readFile } = await import("node:fs/promises");
  return { name: download.suggestedFilename(), text: await readFile(path, "utf8") };
}

/** Cancel a long run from its page while it runs. */
export async function cancelLong({ page, shot, user, password }) {
  await login(page, user, password, "/pipelines/long");
  const runId = await runFromPipelinePage(page, "long");
  await expectVisible(logLine(page, "started"), "the long step's first line");
  await page.getByRole("button", { name: "Cancel run" }).click();
  await expectVisible(page.locator(".page-header .badge").filter({ hasText: /cancel/i }), "the run cancelled or cancelling");
  await page.getByText("End of log.").waitFor({ timeout: 60000 });
  await shot("run-cancelled");
  return { runId, header: await page.locator(".page-header").first().innerText() };
}

/** A failed run re-run with "Re-run failed jobs": the new run passes. */
export async function rerunFailed({ page, shot, user, password }) {
  await login(page, user, password, "/pipelines/flaky");
  const failedId = await runFromPipelinePage(page, "flaky");
  await page.getByText("End of log.").waitFor({ timeout: 60000 });
  // The run page can miss the end of a short run (its state stays "Starting"; i16-ui's
  // Run page, reported): a reload shows it.
  await page.reload();
  await expectVisible(page.locator(".page-header .badge").filter({ hasText: /failed/i }), "the run failed");
  await page.getByRole("button", { name: "Re-run failed jobs" }).waitFor({ timeout: 60000 });
  await shot("run-failed");
  await page.getByRole("button", { name: "Re-run failed jobs" }).click();
  await page.waitForURL((url) => url.pathname.startsWith("/runs/") && !url.pathname.endsWith(failedId));
  const rerunId = new URL(page.url()).pathname.split("/").pop();
  await page.getByText("End of log.").waitFor({ timeout: 60000 });
  await expectVisible(page.getByRole("link", { name: failedId.slice(0, 8) }), "the link to the run it retries");
  return { failedId, rerunId };
}

/**
 * A reader of the pipelines: no Run, Cancel or Re-run buttons, the Admin page refuses
 * them, and the server answers 403 when they try anyway.
 */
export async function readerForbidden({ page, shot, user, password, runId }) {
  await login(page, user, password, "/pipelines/live");
  await expectVisible(page.getByRole("heading", { name: "live" }), "the pipeline page");
  const runButtons = await page.getByRole("button", { name: "Run", exact: true }).count();
  await page.goto(`/runs/${runId}`);
  await expectVisible(page.getByRole("link", { name: "report.txt" }), "the run page with its artifact");
  const actionButtons = await page.getByRole("button", { name: /Cancel run|Re-run/ }).count();
  await page.goto("/admin");
  const refusal = page.getByRole("alert").first();
  await expectVisible(refusal, "the refusal on the Admin page");
  const refused = await refusal.innerText();
  const drainButtons = await page.getByRole("button", { name: /draining/ }).count();
  await shot("admin-reader-forbidden");
  const rest = await page.request.post(`/api/v1/pipelines/live/runs`, { data: { ref: "main" } });
  const gql = await page.request.post("/graphql", {
    data: { query: `mutation { triggerRun(pipeline: "live", ref: "main") { __typename } }` },
  });
  return { runButtons, actionButtons, refused, drainButtons, restStatus: rest.status(), graphql: await gql.json() };
}

/** The Admin page: config in force, draining on and off. */
export async function adminDrain({ page, shot, user, password }) {
  await login(page, user, password, "/admin");
  await expectVisible(page.getByText("In force"), "the config in force");
  const config = await page.locator(".ops-meta").first().innerText();
  await page.getByRole("button", { name: "Start draining" }).click();
  await expectVisible(page.getByText("Danube is draining:"), "the draining banner");
  await shot("admin-draining");
  const status = await graphql(page, "{ status { draining } }");
  await page.getByRole("button", { name: "Stop draining" }).click();
  await expectVisible(page.getByRole("button", { name: "Start draining" }), "draining stopped");
  await shot("admin");
  return { config, drainingSeenByServer: status.status.draining };
}

/**
 * The queue page lists the waiting run with its position and reason, and when the run
 * holding the only slot is cancelled, the waiting one leaves the list without a reload.
 */
export async function queueLive({ page, shot, user, password, blocker, waiting }) {
  await login(page, user, password, "/queue");
  const table = page.getByRole("table", { name: "Waiting jobs" });
  const row = table.getByRole("row").filter({ has: page.getByRole("link", { name: waiting.slice(0, 8) }) });
  await expectVisible(row, "the waiting run's row");
  const text = await row.innerText();
  await shot("queue");
  await expectVisible(page.getByText("Live"), "the live indicator");
  await graphql(page, `mutation($id: ID!) { cancelRun(runId: $id) { __typename } }`, { id: blocker });
  await row.waitFor({ state: "detached", timeout: 30000 });
  await expectVisible(page.getByText(/Nothing is waiting/), "the empty queue");
  return { row: text };
}

/** The audit page of one run: the trail, and the run as it was after each event. */
export async function timeTravel({ page, shot, user, password, runId }) {
  await login(page, user, password, `/audit?run=${runId}`);
  const slider = page.getByRole("slider", { name: "Event" });
  await expectVisible(slider, "the time-travel slider");
  const position = page.getByTestId("tt-position");
  const count = Number(await slider.getAttribute("max"));
  await expectVisible(page.locator(`.tt-snapshot[data-version="${count}"]`), "the run after its last event");
  const last = await position.innerText();
  await expectVisible(page.getByRole("table", { name: "Audit trail" }).getByText("Run.Requested"), "the run's trail");
  await shot("audit-run-latest");
  await slider.fill("1");
  await expectVisible(page.locator('.tt-snapshot[data-version="1"]'), "the run after its first event");
  const first = await position.innerText();
  await shot("audit-run-first-event");
  // Keyboard: one event on with the arrow key.
  await slider.focus();
  await page.keyboard.press("ArrowRight");
  await expectVisible(page.getByText(/After event 2 of/), "the second event");
  const second = await position.innerText();
  const states = [];
  for (let version = 1; version <= count; version += 1) {
    await slider.fill(String(version));
    await expectVisible(page.getByText(new RegExp(`After event ${version} of ${count}\\b`)), `event ${version}`);
    const snapshot = page.locator(`.tt-snapshot[data-version="${version}"]`);
    await snapshot.waitFor();
    states.push(await snapshot.locator("p").first().innerText());
  }
  return { count, last, first, second, states };
}
