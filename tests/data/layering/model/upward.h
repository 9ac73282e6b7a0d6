#pragma once
// A fixture for the layering check (tests/CMakeLists.txt): a model header that reaches up to the
// session, which the part graph forbids.
#include "model/config.h"
#include "session/session.h"
