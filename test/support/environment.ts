// Preloaded into every test process (scripts/run-tests.mjs, and the fixtures the reliability
// tests spawn): the test suite is an entry point, so it is what reads FLIGHT_SERVER_TRANSPORT and
// FLIGHT_CLIENT_TRANSPORT, to run the same tests on another transport (.ci/run does).
import { transportDefaults, transportsFromEnvironment } from '../../flight/defaults.ts';

Object.assign(transportDefaults, transportsFromEnvironment(process.env));
