#include "app/gui/StudyLoader.h"

#include "imaging/decoder/IsolatedDecoder.h"

#include <QMetaObject>

#include <algorithm>
#include <cmath>
#include <exception>
#include <new>

namespace radmark::gui {

StudyLoader::StudyLoader(QObject* parent) : QObject(parent) {}

StudyLoader::~StudyLoader() {
    cancel();
    if (worker_.joinable())
        worker_.join();
}

void StudyLoader::cancel() {
    if (cancelled_)
        cancelled_->store(true);
}

void StudyLoader::stopPrevious() {
    cancel();
    if (worker_.joinable())
        worker_.join();
    cancelled_ = std::make_shared<std::atomic<bool>>(false);
}

template <class Work> void StudyLoader::start(Work work) {
    busy_ = true;
    worker_ = std::thread([this, work = std::move(work), cancelled = cancelled_]() mutable {
        QString message;
        try {
            work();
            return;
        } catch (const imaging::ReadError& error) {
            if (cancelled->load())
                return;
            message = QString::fromStdString(error.what());
        } catch (const std::bad_alloc&) {
            message = tr("Not enough memory to open this study.");
        } catch (const std::exception& error) {
            message = tr("Could not open the study: %1").arg(QString::fromStdString(error.what()));
        }
        QMetaObject::invokeMethod(
            this,
            [this, message] {
                emit failed(message);
                finish();
            },
            Qt::QueuedConnection);
    });
}

void StudyLoader::finish() {
    busy_ = false;
    emit finished();
}

imaging::Progress StudyLoader::progressReporter(double from, double to) {
    auto cancelled = cancelled_;
    auto lastPercent = std::make_shared<int>(-1);
    return [this, from, to, cancelled, lastPercent](double fraction) {
        const double overall = from + (to - from) * std::clamp(fraction, 0.0, 1.0);
        const int percent = int(std::lround(overall * 100));
        if (percent != *lastPercent) { // at most a hundred events per load
            *lastPercent = percent;
            QMetaObject::invokeMethod(
                this, [this, overall] { emit progressed(overall); }, Qt::QueuedConnection);
        }
        return !cancelled->load();
    };
}

void StudyLoader::open(const QString& path) {
    const std::filesystem::path source = path.toStdString();
    stopPrevious();
    start([this, source, listing = progressReporter(0, 0.1), decoding = progressReporter(0.1, 1)] {
        // The files are parsed in the isolated decoder: a file that crashes it is a message
        // here, never a dead workstation. The child that listed the series decodes it too.
        decoder::IsolatedDecoder decoder;
        auto series = decoder.findSeries(source, listing);
        if (series.size() == 1) {
            imaging::ReadReport report;
            auto volume = std::make_shared<imaging::Volume>(
                decoder.readSeries(series.front(), decoding, &report));
            QMetaObject::invokeMethod(
                this,
                [this, volume, report] {
                    emit volumeLoaded(volume, report);
                    finish();
                },
                Qt::QueuedConnection);
            return;
        }
        QMetaObject::invokeMethod(
            this,
            [this, series] {
                emit seriesFound(series);
                finish();
            },
            Qt::QueuedConnection);
    });
}

void StudyLoader::read(const imaging::SeriesSummary& series) {
    stopPrevious();
    start([this, series, decoding = progressReporter(0, 1)] {
        imaging::ReadReport report;
        decoder::IsolatedDecoder decoder;
        auto volume =
            std::make_shared<imaging::Volume>(decoder.readSeries(series, decoding, &report));
        QMetaObject::invokeMethod(
            this,
            [this, volume, report] {
                emit volumeLoaded(volume, report);
                finish();
            },
            Qt::QueuedConnection);
    });
}

} // namespace radmark::gui
