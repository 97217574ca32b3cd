// Tesseract as the TextDetector (BurnedInText.h). A translation unit of its own: the front ends
// link it (radmark::deid_ocr), and the decoder child loads it as a module (radmark-ocr) only
// when it is to read burned-in text, since libtesseract brings some forty libraries whose
// loading would otherwise slow the start of every child.

#include "imaging/deid/BurnedInText.h"

#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace radmark::deid {
namespace {

class TesseractDetector : public TextDetector {
  public:
    // Tesseract starts on first use (it takes a noticeable fraction of a second), so runs
    // without any image to check do not pay for it.
    ~TesseractDetector() override {
        if (started_)
            api_.End();
    }

    int countWords(const std::uint8_t* grey, int width, int height) const override {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!started_) {
            if (api_.Init(nullptr, "eng") != 0)
                throw std::runtime_error("the OCR engine (Tesseract, English) could not start");
            api_.SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
            started_ = true;
        }
        api_.SetImage(grey, width, height, 1, width);
        if (api_.Recognize(nullptr) != 0)
            return 0;
        int words = 0;
        std::unique_ptr<tesseract::ResultIterator> it(api_.GetIterator());
        if (!it)
            return 0;
        do {
            std::unique_ptr<char[]> word(it->GetUTF8Text(tesseract::RIL_WORD));
            if (!word)
                continue;
            int alnum = 0;
            for (const char* c = word.get(); *c; ++c)
                alnum += std::isalnum(static_cast<unsigned char>(*c)) ? 1 : 0;
            // Readable text: at least two letters or digits recognised with confidence.
            if (alnum >= 2 && it->Confidence(tesseract::RIL_WORD) >= 60.0f)
                ++words;
        } while (it->Next(tesseract::RIL_WORD));
        api_.Clear();
        return words;
    }

  private:
    mutable tesseract::TessBaseAPI api_;
    mutable std::mutex mutex_;
    mutable bool started_ = false;
};

} // namespace

std::unique_ptr<TextDetector> makeTesseractDetector() {
    return std::make_unique<TesseractDetector>();
}

} // namespace radmark::deid
