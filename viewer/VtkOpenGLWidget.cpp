#include "viewer/VtkOpenGLWidget.h"

#include <QKeyEvent>
#include <QMouseEvent>
#include <QOpenGLContext>
#include <QOpenGLFunctions>
#include <QSurfaceFormat>
#include <QWheelEvent>

#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkGenericOpenGLRenderWindow.h>
#include <vtkGenericRenderWindowInteractor.h>
#include <vtkInteractorStyleTrackballCamera.h>
#include <vtkOpenGLState.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>

#include <cmath>

namespace radmark::viewer {

struct VtkOpenGLWidget::Private {
    VtkOpenGLWidget* widget = nullptr;
    vtkSmartPointer<vtkGenericOpenGLRenderWindow> window;
    vtkSmartPointer<vtkRenderer> renderer;
    vtkSmartPointer<vtkGenericRenderWindowInteractor> interactor;
    vtkSmartPointer<vtkCallbackCommand> windowEvents;
    vtkSmartPointer<vtkCallbackCommand> interactorRender;
    QOpenGLContext* context = nullptr;
    QSurface* surface = nullptr;
    bool initialized = false;
    bool inPaint = false;

    static void onWindowEvent(vtkObject*, unsigned long event, void* clientData, void* callData) {
        auto* self = static_cast<Private*>(clientData);
        switch (event) {
        case vtkCommand::WindowMakeCurrentEvent:
            // QOpenGLContext::makeCurrent, not QOpenGLWidget::makeCurrent: the latter rebinds the
            // widget's framebuffer behind VTK's state cache and VTK's own framebuffers break.
            if (self->context && self->surface && QOpenGLContext::currentContext() != self->context)
                self->context->makeCurrent(self->surface);
            break;
        case vtkCommand::WindowIsCurrentEvent: {
            bool& current = *static_cast<bool*>(callData);
            current = self->context && QOpenGLContext::currentContext() == self->context;
            break;
        }
        case vtkCommand::WindowFrameEvent:
            // A render VTK started itself (outside paintGL): show it.
            if (!self->inPaint)
                self->widget->update();
            break;
        default:
            break;
        }
    }

    static void onInteractorRender(vtkObject*, unsigned long, void* clientData, void*) {
        static_cast<Private*>(clientData)->widget->update();
    }

    void setInteractorPosition(const QPointF& widgetPosition, Qt::KeyboardModifiers modifiers,
                               int repeat = 0) {
        const QPointF p = widget->toDisplay(widgetPosition);
        interactor->SetEventInformation(int(std::lround(p.x())), int(std::lround(p.y())),
                                        (modifiers & Qt::ControlModifier) ? 1 : 0,
                                        (modifiers & Qt::ShiftModifier) ? 1 : 0, 0, repeat);
        interactor->SetAltKey((modifiers & Qt::AltModifier) ? 1 : 0);
    }
};

VtkOpenGLWidget::VtkOpenGLWidget(QWidget* parent) : QOpenGLWidget(parent), d(new Private) {
    d->widget = this;
    setFormat(surfaceFormat());
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setMinimumSize(64, 64);

    d->window = vtkSmartPointer<vtkGenericOpenGLRenderWindow>::New();
    d->window->SetReadyForRendering(false); // until initializeGL
    d->window->SetFrameBlitModeToNoBlit();  // we blit in paintGL
    d->window->SetMultiSamples(0);
    d->renderer = vtkSmartPointer<vtkRenderer>::New();
    d->window->AddRenderer(d->renderer);

    d->windowEvents = vtkSmartPointer<vtkCallbackCommand>::New();
    d->windowEvents->SetClientData(d.get());
    d->windowEvents->SetCallback(&Private::onWindowEvent);
    d->window->AddObserver(vtkCommand::WindowMakeCurrentEvent, d->windowEvents);
    d->window->AddObserver(vtkCommand::WindowIsCurrentEvent, d->windowEvents);
    d->window->AddObserver(vtkCommand::WindowFrameEvent, d->windowEvents);

    d->interactor = vtkSmartPointer<vtkGenericRenderWindowInteractor>::New();
    d->interactor->SetRenderWindow(d->window);
    // The interactor asks for renders; we turn them into repaints so VTK renders in paintGL.
    d->interactor->EnableRenderOff();
    d->interactorRender = vtkSmartPointer<vtkCallbackCommand>::New();
    d->interactorRender->SetClientData(d.get());
    d->interactorRender->SetCallback(&Private::onInteractorRender);
    d->interactor->AddObserver(vtkCommand::RenderEvent, d->interactorRender);
    auto style = vtkSmartPointer<vtkInteractorStyleTrackballCamera>::New();
    d->interactor->SetInteractorStyle(style);
    d->interactor->Initialize();
}

VtkOpenGLWidget::~VtkOpenGLWidget() {
    // Release VTK's GL resources while our context still exists.
    if (d->initialized && context()) {
        makeCurrent();
        d->window->Finalize();
        doneCurrent();
    }
    d->window->RemoveObserver(d->windowEvents);
    d->interactor->RemoveObserver(d->interactorRender);
}

QSurfaceFormat VtkOpenGLWidget::surfaceFormat() {
    QSurfaceFormat format;
    format.setRenderableType(QSurfaceFormat::OpenGL);
    format.setVersion(3, 2);
    format.setProfile(QSurfaceFormat::CoreProfile);
    format.setSwapBehavior(QSurfaceFormat::DoubleBuffer);
    format.setRedBufferSize(8);
    format.setGreenBufferSize(8);
    format.setBlueBufferSize(8);
    format.setAlphaBufferSize(8);
    format.setDepthBufferSize(24);
    format.setStencilBufferSize(0);
    format.setSamples(0);
    return format;
}

void VtkOpenGLWidget::installDefaultSurfaceFormat() {
    QSurfaceFormat::setDefaultFormat(surfaceFormat());
}

vtkGenericOpenGLRenderWindow* VtkOpenGLWidget::renderWindow() const {
    return d->window;
}
vtkRenderer* VtkOpenGLWidget::renderer() const {
    return d->renderer;
}
vtkRenderWindowInteractor* VtkOpenGLWidget::interactor() const {
    return d->interactor;
}

void VtkOpenGLWidget::requestRender() {
    update();
}

bool VtkOpenGLWidget::renderNow() {
    if (!d->initialized)
        return false;
    makeCurrent();
    paintGL();
    doneCurrent();
    return true;
}

QSize VtkOpenGLWidget::deviceSize() const {
    const double ratio = devicePixelRatioF();
    return QSize(int(std::lround(width() * ratio)), int(std::lround(height() * ratio)));
}

QPointF VtkOpenGLWidget::toDisplay(const QPointF& widgetPosition) const {
    const double ratio = devicePixelRatioF();
    return QPointF(widgetPosition.x() * ratio,
                   deviceSize().height() - 1 - widgetPosition.y() * ratio);
}

void VtkOpenGLWidget::initializeGL() {
    d->context = context();
    d->surface = d->context->surface();
    vtkOpenGLState* state = d->window->GetState();
    state->Reset();
    // Qt leaves GL_LESS; VTK expects GL_LEQUAL.
    state->vtkglDepthFunc(GL_LEQUAL);
    d->window->SetOwnContext(false);
    d->window->SetReadyForRendering(true);
    d->window->SetMapped(1);
    d->window->SetIsDirect(1);
    d->window->SetSupportsOpenGL(1);
    const QSize size = deviceSize();
    d->window->SetSize(size.width(), size.height());
    d->window->OpenGLInitContext();
    d->initialized = true;
}

void VtkOpenGLWidget::resizeGL(int, int) {
    const QSize size = deviceSize();
    d->window->SetSize(size.width(), size.height());
    d->interactor->UpdateSize(size.width(), size.height());
    d->interactor->InvokeEvent(vtkCommand::ConfigureEvent);
}

void VtkOpenGLWidget::paintGL() {
    if (!d->initialized)
        return;
    const QSize size = deviceSize();
    if (d->window->GetSize()[0] != size.width() || d->window->GetSize()[1] != size.height())
        d->window->SetSize(size.width(), size.height());

    vtkOpenGLState* state = d->window->GetState();
    state->Reset();
    state->Push();
    d->inPaint = true;
    d->window->Render();
    d->inPaint = false;
    state->Pop();

    // Rendering may have switched contexts (e.g. a progress callback repainting another widget).
    makeCurrent();
    state->Reset();
    state->Push();
    state->vtkglBindFramebuffer(GL_DRAW_FRAMEBUFFER, defaultFramebufferObject());
    state->vtkglViewport(0, 0, size.width(), size.height());
    state->vtkglScissor(0, 0, size.width(), size.height());
    d->window->BlitDisplayFramebuffer(0, 0, 0, size.width(), size.height(), 0, 0, size.width(),
                                      size.height(), GL_COLOR_BUFFER_BIT, GL_NEAREST);
    // Mesa composites the widget with its alpha channel: without alpha = 1 the view is black.
    state->vtkglColorMask(GL_FALSE, GL_FALSE, GL_FALSE, GL_TRUE);
    state->vtkglClearColor(0.0f, 0.0f, 0.0f, 1.0f);
    state->vtkglClear(GL_COLOR_BUFFER_BIT);
    state->Pop();
}

void VtkOpenGLWidget::mousePressEvent(QMouseEvent* event) {
    d->setInteractorPosition(event->position(), event->modifiers());
    switch (event->button()) {
    case Qt::LeftButton:
        d->interactor->InvokeEvent(vtkCommand::LeftButtonPressEvent);
        break;
    case Qt::MiddleButton:
        d->interactor->InvokeEvent(vtkCommand::MiddleButtonPressEvent);
        break;
    case Qt::RightButton:
        d->interactor->InvokeEvent(vtkCommand::RightButtonPressEvent);
        break;
    default:
        break;
    }
    event->accept();
}

void VtkOpenGLWidget::mouseReleaseEvent(QMouseEvent* event) {
    d->setInteractorPosition(event->position(), event->modifiers());
    switch (event->button()) {
    case Qt::LeftButton:
        d->interactor->InvokeEvent(vtkCommand::LeftButtonReleaseEvent);
        break;
    case Qt::MiddleButton:
        d->interactor->InvokeEvent(vtkCommand::MiddleButtonReleaseEvent);
        break;
    case Qt::RightButton:
        d->interactor->InvokeEvent(vtkCommand::RightButtonReleaseEvent);
        break;
    default:
        break;
    }
    event->accept();
}

void VtkOpenGLWidget::mouseMoveEvent(QMouseEvent* event) {
    d->setInteractorPosition(event->position(), event->modifiers());
    d->interactor->InvokeEvent(vtkCommand::MouseMoveEvent);
    event->accept();
}

void VtkOpenGLWidget::mouseDoubleClickEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton)
        emit doubleClicked();
    event->accept();
}

void VtkOpenGLWidget::wheelEvent(QWheelEvent* event) {
    d->setInteractorPosition(event->position(), event->modifiers());
    const int delta = event->angleDelta().y();
    if (delta > 0)
        d->interactor->InvokeEvent(vtkCommand::MouseWheelForwardEvent);
    else if (delta < 0)
        d->interactor->InvokeEvent(vtkCommand::MouseWheelBackwardEvent);
    event->accept();
}

void VtkOpenGLWidget::keyPressEvent(QKeyEvent* event) {
    const QByteArray text = event->text().toLatin1();
    const char keyCode = text.isEmpty() ? 0 : text[0];
    d->interactor->SetKeyEventInformation((event->modifiers() & Qt::ControlModifier) ? 1 : 0,
                                          (event->modifiers() & Qt::ShiftModifier) ? 1 : 0, keyCode,
                                          event->isAutoRepeat() ? 1 : 0, text.constData());
    // No CharEvent: VTK's styles bind letters ('e' exits, 'w' wireframe) that a
    // radiologist's keyboard shortcuts must not trigger.
    d->interactor->InvokeEvent(vtkCommand::KeyPressEvent);
    QOpenGLWidget::keyPressEvent(event); // let shortcuts and parents see unhandled keys
}

void VtkOpenGLWidget::keyReleaseEvent(QKeyEvent* event) {
    const QByteArray text = event->text().toLatin1();
    const char keyCode = text.isEmpty() ? 0 : text[0];
    d->interactor->SetKeyEventInformation((event->modifiers() & Qt::ControlModifier) ? 1 : 0,
                                          (event->modifiers() & Qt::ShiftModifier) ? 1 : 0, keyCode,
                                          0, text.constData());
    d->interactor->InvokeEvent(vtkCommand::KeyReleaseEvent);
    QOpenGLWidget::keyReleaseEvent(event);
}

void VtkOpenGLWidget::enterEvent(QEnterEvent* event) {
    d->interactor->InvokeEvent(vtkCommand::EnterEvent);
    QOpenGLWidget::enterEvent(event);
}

void VtkOpenGLWidget::leaveEvent(QEvent* event) {
    d->interactor->InvokeEvent(vtkCommand::LeaveEvent);
    QOpenGLWidget::leaveEvent(event);
}

} // namespace radmark::viewer
