/*
 * Common includes of the cmocka unit tests.  cmocka needs these standard
 * headers before its own, in this order.
 */
#ifndef REVPORTAL_UNIT_H
#define REVPORTAL_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "extern.h"

#endif /* REVPORTAL_UNIT_H */
