#pragma once
// A fixture for the layering check: an include the graph allows (run -> util).
#include "util/error.h"
