/**
 * A loopback port where a connection is refused, for tests about an unreachable server. A port
 * found free and released (`closedPort`) can be taken by another test's server before it is used
 * (seen in CI: the "refused" request reached some other server and succeeded). Port 2 lies below
 * the ephemeral range every test listens in (they all ask for port 0), nothing on a CI machine
 * serves it, and unlike port 1 it is not on the Fetch standard's list of ports fetch refuses to
 * try ("bad port"), so the connection is really attempted and refused.
 */
export const REFUSED_PORT = 2;
