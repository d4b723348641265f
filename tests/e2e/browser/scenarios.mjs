// The end-to-end scenarios, each a function of { page, context, shot, url, out, ... }
// that throws when what a user would see is not there. Role-based locators: what a
// person reads on the screen, not CSS classes.

/** The app loads at / for someone not logged in, and a page's link opens that page. */
export async function opens({ page, shot }) {
  const response = await page.goto("/");
  await page.waitForLoadState("networkidle");
  await shot("home-anonymous");
  const deep = await page.goto("/queue");
  await page.getByRole("heading", { name: "Queue" }).waitFor();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await page.getByRole("heading", { name: "Audit" }).waitFor();
  return { status: response.status(), deepStatus: deep.status(), title: await page.title(), path: new URL(page.url()).pathname };
}

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

/**
 * The queue page lists the waiting run with its position and reason, and when the run
 * holding the only slot is cancelled, the waiting one leaves the list without a reload.
 */
export async function queueLive({ page, shot, blocker, waiting }) {
  await page.goto("/queue");
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
export async function timeTravel({ page, shot, runId }) {
  await page.goto(`/audit?run=${runId}`);
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
