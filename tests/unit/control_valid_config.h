// The smallest config that Validate accepts (one null port, an IPv4
// address, CPU 0), for the control tests to change one field at a time.
#ifndef SYNWAVE_TESTS_UNIT_CONTROL_VALID_CONFIG_H_
#define SYNWAVE_TESTS_UNIT_CONTROL_VALID_CONFIG_H_

#include "control/config.h"

namespace synwave::control {

inline Config Valid() {
  Config c;
  c.ports = {"net_null0"};
  c.ip = wire::Ipv4Prefix::Parse("198.18.0.2/24");
  c.lcores = {0};
  return c;
}

}  // namespace synwave::control

#endif  // SYNWAVE_TESTS_UNIT_CONTROL_VALID_CONFIG_H_
