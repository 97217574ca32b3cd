#pragma once
// The entry point of the radmark-ocr module (OcrModule.cpp): a new Tesseract text detector, owned
// by the caller, or null. The decoder child looks it up with dlsym.

#include "imaging/deid/BurnedInText.h"

extern "C" radmark::deid::TextDetector* radmark_make_text_detector();
