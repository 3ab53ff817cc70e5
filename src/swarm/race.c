/* The connect race of one dial (race.h). */
#include "swarm/race.h"

#include "chainstore/error.h"

void swarm_race_init(swarm_race_t *r, unsigned attempts, uint64_t now, uint64_t timeout_ms) {
  r->running = attempts & (SWARM_RACE_TCP | SWARM_RACE_PUNCH);
  r->over = r->running == 0;
  r->err = r->over ? CHAINSTORE_EINVAL : 0;
  r->deadline = now + timeout_ms;
  r->patient_deadline = 0;
}

void swarm_race_set_patience(swarm_race_t *r, uint64_t start, uint64_t patient_ms) {
  r->patient_deadline = start + patient_ms;
}

swarm_race_do_t swarm_race_failed(swarm_race_t *r, unsigned attempt, int err) {
  r->running &= ~attempt;
  if (err < 0)
    r->err = err;
  if (r->over || r->running != 0)
    return SWARM_RACE_WAIT;
  r->over = true;
  if (r->err == 0)
    r->err = CHAINSTORE_ECONNREFUSED; /* JS: "All sockets failed" */
  return SWARM_RACE_FAILED;
}

swarm_race_do_t swarm_race_punched(swarm_race_t *r, int status) {
  if (status != 0)
    return swarm_race_failed(r, SWARM_RACE_PUNCH, status);
  r->running &= ~SWARM_RACE_PUNCH;
  if (r->over)
    return SWARM_RACE_WAIT; /* JS: connected or timed out, no uTP */
  r->running |= SWARM_RACE_UTP;
  return SWARM_RACE_DIAL_UTP;
}

swarm_race_do_t swarm_race_connected(swarm_race_t *r, unsigned attempt) {
  r->running &= ~attempt;
  if (r->over)
    return SWARM_RACE_LOST;
  r->over = true;
  return SWARM_RACE_WON;
}

swarm_race_do_t swarm_race_expire(swarm_race_t *r, uint64_t now) {
  if (r->over || now < r->deadline)
    return SWARM_RACE_WAIT;
  if ((r->running & SWARM_RACE_PUNCH) && r->patient_deadline > r->deadline) {
    r->running &= ~SWARM_RACE_TCP;
    r->deadline = r->patient_deadline;
    return SWARM_RACE_PATIENT;
  }
  r->over = true;
  r->err = CHAINSTORE_ETIMEDOUT;
  return SWARM_RACE_FAILED;
}
