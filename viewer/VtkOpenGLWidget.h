#pragma once
// A QOpenGLWidget hosting a vtkGenericOpenGLRenderWindow: Radmark's own Qt 6 <-> VTK bridge
// (Debian's VTK Qt module is built for Qt 5). VTK renders into its own framebuffer inside
// paintGL; the result is blitted into the widget's framebuffer (DESIGN.md, "The Qt 6 <-> VTK
// bridge"). Mouse, wheel and key events go to the VTK interactor unless a subclass takes them.

#include <QOpenGLWidget>

#include <memory>

class QSurfaceFormat;
class vtkGenericOpenGLRenderWindow;
class vtkRenderer;
class vtkRenderWindowInteractor;

namespace radmark::viewer {

class VtkOpenGLWidget : public QOpenGLWidget {
    Q_OBJECT
  public:
    explicit VtkOpenGLWidget(QWidget* parent = nullptr);
    ~VtkOpenGLWidget() override;

    // OpenGL 3.2 core, depth 24, no multisampling: what VTK's OpenGL2 backend needs.
    // Call before constructing the QApplication.
    static QSurfaceFormat surfaceFormat();
    static void installDefaultSurfaceFormat();

    vtkGenericOpenGLRenderWindow* renderWindow() const;
    vtkRenderer* renderer() const;
    vtkRenderWindowInteractor* interactor() const;

    // Schedules a repaint (VTK renders inside paintGL).
    void requestRender();
    // Renders and blits right now; for benchmarks and screenshots. Returns false before the
    // widget has a GL context (not shown yet).
    bool renderNow();

    // Widget size in device pixels (what VTK sees).
    QSize deviceSize() const;
    // A Qt widget position as a VTK display position (device pixels, origin bottom-left).
    QPointF toDisplay(const QPointF& widgetPosition) const;

  signals:
    // A double-click with the left button (the four-up layout maximises the view on it).
    void doubleClicked();

  protected:
    void initializeGL() override;
    void resizeGL(int width, int height) override;
    void paintGL() override;

    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void keyReleaseEvent(QKeyEvent* event) override;
    void enterEvent(QEnterEvent* event) override;
    void leaveEvent(QEvent* event) override;

  private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace radmark::viewer
