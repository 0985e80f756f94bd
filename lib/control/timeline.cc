#include "control/timeline.h"

#include <chrono>
#include <thread>

#include "app/counters.h"
#include "app/proxy_core.h"
#include "tcp/counters.h"

namespace synwave::control {

Timeline::Timeline(Kind kind, std::vector<app::Generator*> generators)
    : kind_(kind),
      generators_(std::move(generators)),
      pending_(generators_.size(), 0) {}

void Timeline::CollectLatencies(engine::LatencyHistogram* second) {
  for (size_t i = 0; i < generators_.size(); ++i) {
    if (pending_[i] == 0) pending_[i] = generators_[i]->NextSecond();
  }
  // A polling worker switches within microseconds; give a busy machine a
  // few milliseconds.
  for (int tries = 0; tries < 20; ++tries) {
    bool all = true;
    for (size_t i = 0; i < generators_.size(); ++i) {
      all &= generators_[i]->SecondTaken(pending_[i]);
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  for (size_t i = 0; i < generators_.size(); ++i) {
    app::Generator& g = *generators_[i];
    if (!g.SecondTaken(pending_[i])) continue;  // next time
    engine::LatencyHistogram& finished = g.Second(pending_[i] - 1);
    second->Merge(finished);
    finished.Reset();
    pending_[i] = 0;
  }
}

void Timeline::Sample(double elapsed_s, const CounterTotals& client,
                      const CounterTotals* server) {
  const int64_t unix_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  if (!have_before_) {
    // The zero point (the schedule's start): nothing to difference yet.
    have_before_ = true;
    before_t_ = elapsed_s;
    client_before_ = client;
    if (server != nullptr) server_before_ = *server;
    if (kind_ == Kind::kLoad) {
      engine::LatencyHistogram discard;
      CollectLatencies(&discard);  // starts the first second
    }
    return;
  }
  auto delta = [](const CounterTotals& now, const CounterTotals& before,
                  auto c) { return now[c] - before[c]; };
  nlohmann::json e;
  e["t"] = elapsed_s;
  e["unix_ms"] = unix_ms;
  e["interval_s"] = elapsed_s - before_t_;
  e["rx_packets"] = delta(client, client_before_, engine::Counter::kRxPackets);
  e["tx_packets"] = delta(client, client_before_, engine::Counter::kTxPackets);
  e["drops"] = client.Drops() - client_before_.Drops();
  uint64_t time_wait = client[engine::Gauge::kTimeWaitInUse];
  if (kind_ == Kind::kLoad) {
    using LC = app::LoadCounter;
    e["new"] = delta(client, client_before_, LC::kAttempted);
    e["completed"] = delta(client, client_before_, LC::kCompleted);
    e["failed"] = {
        {"refused", delta(client, client_before_, LC::kFailedRefused)},
        {"timeout", delta(client, client_before_, LC::kFailedTimeout)},
        {"reset", delta(client, client_before_, LC::kFailedReset)},
        {"other", delta(client, client_before_, LC::kFailedOther)}};
    e["open"] = client[app::LoadGauge::kOpen];
    e["held"] = delta(client, client_before_, LC::kHeldPending) +
                delta(client, client_before_, LC::kHeldPool);
    engine::LatencyHistogram second;
    CollectLatencies(&second);
    e["latency_us"] = {{"count", second.count()},
                       {"p50", second.ValueAtPercentile(50)},
                       {"p99", second.ValueAtPercentile(99)},
                       {"histogram", HistogramJson(second)}};
    const uint64_t flood = client[app::FloodCounter::kSynsOut];
    if (flood != 0) {
      e["flood_syns_out"] =
          delta(client, client_before_, app::FloodCounter::kSynsOut);
      e["flood_synacks_in"] =
          delta(client, client_before_, app::FloodCounter::kSynAcksIn);
    }
    if (server != nullptr) {
      time_wait += (*server)[engine::Gauge::kTimeWaitInUse];
      e["cookies_sent"] =
          delta(*server, server_before_, tcp::Mib::kSyncookiesSent);
    }
  } else if (kind_ == Kind::kProxy) {
    using PC = app::ProxyCounter;
    auto d = [&](PC c) {
      const size_t i = app::CounterIndex(c);
      return client.v[i] - client_before_.v[i];
    };
    e["syn_in"] = d(PC::kSynIn);
    e["cookies_sent"] = d(PC::kCookieSynAcks);
    e["cookies_recv"] = d(PC::kCookiesValid) + d(PC::kCookiesValidProbe);
    e["cookies_invalid"] = d(PC::kCookiesInvalid);
    e["accepted"] = d(PC::kEstablished);  // joined to a backend
    e["failed"] = d(PC::kBackendRefused) + d(PC::kBackendSynTimeouts) +
                  d(PC::kNoBackendRst) + d(PC::kNoBackendDrop);
    e["closed"] = d(PC::kClosed) + d(PC::kIdleTimeouts);
    e["flows"] = client.g[app::ProxyFlowsGaugeIndex()];
  } else {
    e["accepted"] = delta(client, client_before_, tcp::Mib::kPassiveOpens);
    e["cookies_sent"] =
        delta(client, client_before_, tcp::Mib::kSyncookiesSent);
    e["cookies_recv"] =
        delta(client, client_before_, tcp::Mib::kSyncookiesRecv);
    e["established"] = client[engine::Gauge::kCurrEstab];
  }
  e["time_wait"] = time_wait;
  entries_.push_back(std::move(e));
  before_t_ = elapsed_s;
  client_before_ = client;
  if (server != nullptr) server_before_ = *server;
}

}  // namespace synwave::control
