#pragma once
// Opens studies off the GUI thread: lists the series at a path, then decodes the one chosen,
// reporting progress, in the isolated decoder (imaging/decoder): a file that crashes or hangs
// it is a failed() message. Results and errors come back as signals on the GUI thread. One
// load at a time; starting another cancels the previous one (its decoder child is ended).

#include "imaging/StudyReader.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace radmark::gui {

class StudyLoader : public QObject {
    Q_OBJECT
  public:
    explicit StudyLoader(QObject* parent = nullptr);
    ~StudyLoader() override; // cancels and waits for the worker

    // Lists the series at `path`; a single series is read straight away (volumeLoaded),
    // several are offered through seriesFound so that someone picks one (read()).
    void open(const QString& path);
    void read(const imaging::SeriesSummary& series);
    void cancel();
    bool busy() const { return busy_; }

  signals:
    void progressed(double fraction); // 0..1
    void seriesFound(std::vector<imaging::SeriesSummary> series);
    void volumeLoaded(std::shared_ptr<imaging::Volume> volume, imaging::ReadReport report);
    void failed(const QString& message); // a sentence a radiologist understands
    void finished();                     // after volumeLoaded, seriesFound or failed

  private:
    void stopPrevious(); // cancels and joins the last worker, arms a fresh cancel flag
    template <class Work> void start(Work work);
    imaging::Progress progressReporter(double from, double to);
    void finish();

    std::thread worker_;
    std::shared_ptr<std::atomic<bool>> cancelled_;
    bool busy_ = false;
};

} // namespace radmark::gui
