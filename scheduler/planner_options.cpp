// planner_options::validate — the phase planner's option checks (phase_planner.hpp has the
// meaning of each option).
#include <cmath>
#include <stdexcept>
#include <string>

#include "scheduler/number_text.hpp"
#include "scheduler/phase_planner.hpp"

namespace alisa::scheduler {
namespace {

[[noreturn]] void reject(const std::string& what) {
  throw std::invalid_argument("planner: " + what);
}

std::string got(double value) { return ", got " + format_number(value); }

void check_flexgen_shares(const planner_options& o) {
  const bool device_set = !(o.flexgen_device_share < 0);  // NaN counts as set, and fails below
  const bool host_set = !(o.flexgen_host_share < 0);
  if (!device_set && !host_set) return;
  if (o.policy != kv_policy::flexgen) reject("flexgen shares apply only to policy flexgen");
  if (device_set != host_set) reject("give both flexgen shares or neither (< 0 = derived)");
  if (!(o.flexgen_device_share <= 1)) {
    reject("flexgen_device_share must be in [0, 1]" + got(o.flexgen_device_share));
  }
  if (!(o.flexgen_host_share <= 1)) {
    reject("flexgen_host_share must be in [0, 1]" + got(o.flexgen_host_share));
  }
  // A little slack so that shares written as decimals (0.7 + 0.3) pass.
  if (o.flexgen_device_share + o.flexgen_host_share > 1 + 1e-9) {
    reject("flexgen shares must sum to <= 1" +
           got(o.flexgen_device_share + o.flexgen_host_share));
  }
}

}  // namespace

void planner_options::validate() const {
  if (!parse_kv_policy(to_string(policy))) reject("policy must be one of " + kv_policy_names());
  // Negated so that NaN is rejected too.
  if (!(attended_fraction > 0 && attended_fraction <= 1)) {
    reject("attended_fraction must be in (0, 1]" + got(attended_fraction));
  }
  if (force_phase != 0 && force_phase != 2 && force_phase != 3) {
    reject("force_phase must be 0 (by cost), 2 or 3" + got(force_phase));
  }
  if (force_phase != 0 && policy != kv_policy::alisa) {
    reject("force_phase applies only to policy alisa");
  }
  check_flexgen_shares(*this);
}

}  // namespace alisa::scheduler
