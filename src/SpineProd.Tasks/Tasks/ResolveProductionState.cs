using Microsoft.Build.Framework;
using SpineProd.Diagnostics;
using SpineProd.Submission;

namespace SpineProd.Tasks;

/// <summary>
/// Runs only when the identity-keyed state folder does not exist but a first-version one
/// (<c>jobs/&lt;name&gt;/</c>) does: keeps using that one if its records show it is this production's
/// (<see cref="StateFolder"/>). Reads only; nothing is created here.
/// </summary>
public sealed class ResolveProductionState : Microsoft.Build.Utilities.Task
{
    [Required] public string ProjectFile { get; set; } = "";
    [Required] public string JobsDir { get; set; } = "";
    [Required] public string Identity { get; set; } = "";
    public string? IdentityPath { get; set; }

    [Output] public string StateDir { get; private set; } = "";
    [Output] public bool AcceptsUnownedLedger { get; private set; }

    public override bool Execute() => Log.Run(ProjectFile, () =>
    {
        var id = new ProductionIdentity(Path.GetFileNameWithoutExtension(ProjectFile), Identity, Path.GetFullPath(ProjectFile), IdentityPath ?? "");
        var choice = StateFolder.Resolve(id, JobsDir);
        StateDir = choice.Dir;
        AcceptsUnownedLedger = choice.Identity.AcceptsUnownedLedger;
        if (choice.Note is null) return;
        if (choice.NoteIsWarning) Log.LogWarning(null, "SPN3022", null, ProjectFile, 0, 0, 0, 0, "{0}", choice.Note);
        else Log.LogMessage(MessageImportance.Normal, "{0}", choice.Note);
    });
}
