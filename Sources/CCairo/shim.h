// cairo's drawing, PDF and SVG surfaces for the Reports module. Everything the renderers call is a
// plain (non-variadic) C function, so Swift calls it directly and no wrappers are needed here.
#ifndef CRM_CCAIRO_SHIM_H
#define CRM_CCAIRO_SHIM_H

#include <cairo/cairo.h>
#include <cairo/cairo-pdf.h>
#include <cairo/cairo-svg.h>

#endif
