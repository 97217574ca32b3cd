// radmark-ocr: the Tesseract text detector as a module the decoder child opens before its
// sandbox, only when it is to read burned-in text (DecoderSettings::ocr).

#include "imaging/decoder/OcrModule.h"

extern "C" radmark::deid::TextDetector* radmark_make_text_detector() {
    try {
        return radmark::deid::makeTesseractDetector().release();
    } catch (...) {
        return nullptr;
    }
}
