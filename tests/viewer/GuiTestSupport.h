#pragma once
// For GUI tests: records every warning Qt or VTK prints (the tests assert there are none) and
// provides a GoogleTest main that creates the QApplication with VTK's surface format.

#include <gtest/gtest.h>

#include <QImage>
#include <QRect>
#include <QString>
#include <QStringList>

namespace radmark::testing {

// Warnings and errors printed by Qt (qWarning and up) or VTK since the last clear.
QStringList recordedWarnings();
void clearRecordedWarnings();

// A test that fails when Qt or VTK printed a warning during it.
class GuiTest : public ::testing::Test {
  protected:
    void SetUp() override { clearRecordedWarnings(); }
    void TearDown() override {
        const QStringList warnings = recordedWarnings();
        EXPECT_TRUE(warnings.isEmpty()) << "Qt/VTK warnings:\n"
                                        << warnings.join('\n').toStdString();
    }
};

// Pixel statistics of a region: what "shows real image content" means in the tests.
struct PixelStatistics {
    double meanLuminance = 0;
    double luminanceStdDev = 0;
    int distinctLuminances = 0; // of 256
    double brightFraction = 0;  // pixels with luminance > 30
};
PixelStatistics pixelStatistics(const QImage& image, const QRect& region);

} // namespace radmark::testing
