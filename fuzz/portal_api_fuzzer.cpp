// Fuzz target: JSON bodies of the portal's API. The first byte picks a route (and whose session
// sends it); the rest is the body, sent as a well-formed request with a valid session and CSRF
// token, so the fuzzer's effort goes into the handlers' field reading and the calls behind them.
#include <cstdint>
#include <iterator>

#include "portal_harness.h"

namespace {
struct Route {
  const char* path;
  bool admin;
};
constexpr Route kRoutes[] = {
    {"/api/login", false},
    {"/api/jobs/1/next", false},
    {"/api/tasks/1/submit", false},
    {"/api/tasks/2/submit", false},
    {"/api/tasks/1/release", false},
    {"/api/tasks/1/skip", false},
    {"/api/invitations/x/accept", false},
    {"/api/admin/jobs", true},
    {"/api/admin/jobs/1/pause", true},
    {"/api/admin/jobs/1/resume", true},
    {"/api/admin/teams", true},
    {"/api/admin/invitations", true},
    {"/api/admin/annotators/2/deactivate", true},
    {"/api/admin/annotators/2/activate", true},
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Route& r = kRoutes[data[0] % std::size(kRoutes)];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string who = r.admin ? "@A@" : "@a@", csrf = r.admin ? "@C@" : "@c@";
  tenet::fuzz::Portal().Serve(std::string("POST ") + r.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                              "Cookie: tenet_session=" + who + "\r\nX-CSRF-Token: " + csrf + "\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  return 0;
}
