// "Face gone in the 3D view": the head MRI (ch2) in the workstation's 3D view (MR preset) before
// and after defacing, under Xvfb. From the front, the lower part of the head (the face) changes
// and the top does not; in profile, the front changes; from above, where only the skull cap shows,
// nothing changes. The four renderings are saved next to the test binary (defacing-*.png) for a
// person to look at.

#include "GuiTestSupport.h"

#include "imaging/StudyReader.h"
#include "imaging/deid/Defacing.h"
#include "viewer/FourUpViewer.h"
#include "viewer/VolumeView.h"

#include <QApplication>
#include <QTest>

#include <vtkCamera.h>
#include <vtkRenderer.h>

#include <cmath>
#include <filesystem>

using namespace radmark;
using radmark::testing::GuiTest;

namespace {

struct Rendering {
    QImage front; // the 3D view's anterior view
    QImage top;   // the same, turned to look down from above the head
    QImage side;  // the profile, from the patient's left
};

Rendering render3d(const imaging::Volume& volume, const QString& name) {
    viewer::FourUpViewer window;
    window.resize(900, 900);
    window.show();
    EXPECT_TRUE(QTest::qWaitForWindowExposed(&window));
    window.setVolume(std::make_shared<imaging::Volume>(volume));
    window.applyVolumeRenderingPreset(*viewer::findVolumeRenderingPreset("MR"));
    QApplication::processEvents();
    viewer::VolumeView* view = window.volumeView();
    Rendering out;
    view->resetView();
    view->renderNow();
    out.front = view->grabFramebuffer();
    vtkCamera* camera = view->renderer()->GetActiveCamera();
    camera->Azimuth(90);
    view->renderNow();
    out.side = view->grabFramebuffer();
    view->resetView();
    camera->Elevation(89.9);
    camera->OrthogonalizeViewUp();
    view->renderNow();
    out.top = view->grabFramebuffer();
    out.front.save(name + "-front.png");
    out.top.save(name + "-top.png");
    out.side.save(name + "-side.png");
    return out;
}

// Share of pixels of `region` whose luminance differs by more than 40 between the images.
double changedShare(const QImage& a, const QImage& b, const QRect& region) {
    int changed = 0, total = 0;
    for (int y = region.top(); y <= region.bottom(); ++y)
        for (int x = region.left(); x <= region.right(); ++x) {
            ++total;
            changed += std::abs(qGray(a.pixel(x, y)) - qGray(b.pixel(x, y))) > 40;
        }
    return total ? double(changed) / total : 0;
}

// The rows and columns holding the rendered head (pixels brighter than the background).
QRect headBox(const QImage& image) {
    QRect box;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            if (qGray(image.pixel(x, y)) > 30)
                box = box.united(QRect(x, y, 1, 1));
    return box;
}

} // namespace

TEST_F(GuiTest, DefacedHeadMriLosesItsFaceInThe3dViewAndKeepsItsTop) {
    const imaging::Volume head =
        imaging::readVolume(std::filesystem::path(RADMARK_MRICRON_TEMPLATES) / "ch2.nii.gz");
    imaging::Volume defaced(head.geometry(), head.pixelType());
    std::copy_n(head.data(), head.byteCount(), defaced.data());
    deid::deface(defaced);

    const Rendering before = render3d(head, "defacing-before");
    const Rendering after = render3d(defaced, "defacing-after");
    ASSERT_EQ(before.front.size(), after.front.size());

    const QRect box = headBox(before.front);
    ASSERT_GT(box.height(), before.front.height() / 3) << "the head is not rendered";
    const int third = box.height() / 3;
    const QRect upper(box.left(), box.top(), box.width(), third);
    const QRect lower(box.left(), box.bottom() - third, box.width(), third);
    const double faceChange = changedShare(before.front, after.front, lower);
    const double crownChange = changedShare(before.front, after.front, upper);
    EXPECT_GT(faceChange, 0.15) << "lower third of the head from the front";
    EXPECT_LT(crownChange, 0.01) << "upper third of the head from the front";
    EXPECT_LT(changedShare(before.top, after.top, before.top.rect()), 0.01) << "seen from above";
    EXPECT_GT(changedShare(before.side, after.side, before.side.rect()), 0.01) << "in profile";
}
