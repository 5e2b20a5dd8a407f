// Package browsertest drives the team tracking map in headless Chromium and
// checks what a person would see: the page loads with no console error, the
// worker count reaches the expected number, markers move, choosing another
// team shows that team's markers. It writes a screenshot on request.
//
// It is used by this module's own test against a fake position stream, and
// is meant for the same check against a real api-gateway with tracking
// services and simulated workers:
//
//	browsertest.Check(t, gatewayURL, browsertest.Expectations{
//		Team: "team_one", Workers: 95,
//		SwitchTeam: "team_two", SwitchStrategy: "kafka", SwitchWorkers: 80,
//		Screenshot: filepath.Join(os.TempDir(), "gateway-map.png"),
//	})
//
// [Check] skips the test when Chromium is missing, except when the
// environment variable CI is set: then it fails. [NewPage], [WaitFor] and
// [ChooseTeam] serve the checks that Check does not make.
package browsertest
