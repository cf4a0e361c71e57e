using SpineProd.Diagnostics;
using SpineProd.Scheduler;

namespace SpineProd.Submission;

/// <summary>
/// One Submit (or Cancel) of a production at a time: an exclusive lock on
/// <c>&lt;state dir&gt;/submit.lock</c>. The OS lock goes away with the process, so a Submit killed with
/// SIGKILL never leaves the production locked. A second Submit waits briefly, then refuses.
/// </summary>
public sealed class SubmitLock : IDisposable
{
    private readonly FileStream _stream;
    private SubmitLock(FileStream s) => _stream = s;

    public static SubmitLock Acquire(string stateDir, TimeSpan wait, IClock? clock = null)
    {
        clock ??= SystemClock.Instance;
        var path = new Layout.ProductionLayout(stateDir).SubmitLock;
        try { Directory.CreateDirectory(stateDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpineProdException("SPN0001", $"the state folder {stateDir} could not be created: {e.Message}", stateDir, inner: e);
        }
        var deadline = clock.UtcNow + wait;
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive advisory lock (flock) on Unix.
                var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                fs.SetLength(0);
                var text = System.Text.Encoding.UTF8.GetBytes($"{Environment.ProcessId} {Environment.MachineName} {DateTimeOffset.Now:O}\n");
                fs.Write(text);
                fs.Flush();
                return new SubmitLock(fs);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new SpineProdException("SPN0001", $"the lock {path} could not be taken: {e.Message} (Submit and Cancel need write access to the production's state folder)", path, inner: e);
            }
            catch (IOException) when (clock.UtcNow < deadline)
            {
                clock.Sleep(TimeSpan.FromMilliseconds(250));
            }
            catch (IOException)
            {
                string holder = "";
                try { holder = File.ReadAllText(path).Trim(); } catch (IOException) { }
                throw new SpineProdException("SPN3004",
                    $"another Submit or Cancel of this production is running{(holder.Length > 0 ? $" (pid host time: {holder})" : "")}; wait for it to finish and run again", path);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
