// The end-to-end scenarios, each a function of { page, context, shot, url, out, ... }
// that throws when what a user would see is not there. Role-based locators: what a
// person reads on the screen, not CSS classes.

/** The app loads at / for someone not logged in. */
export async function opens(ctx) {
  const { page, shot } = ctx;
  const response = await page.goto("/");
  await page.waitForLoadState("networkidle");
  await shot("home-anonymous");
  return { status: response.status(), title: await page.title() };
}
